// HPACK decoding failures. The HTTP/2 layer turns any of them into a connection error (COMPRESSION_ERROR),
// except HEADER_LIST_TOO_LARGE, which leaves the dynamic table in sync and may be answered per stream.

export type HpackErrorCode =
  /** A prefix integer above 2^31-1 or with too many continuation bytes. */
  | "BAD_INTEGER"
  /** A Huffman string holding EOS, padded with more than 7 bits, or padded with a zero bit. */
  | "BAD_HUFFMAN"
  /** Index 0, or an index beyond the static and dynamic tables. */
  | "BAD_INDEX"
  /** A size update after a field, above our advertised limit, or missing after we lowered the limit. */
  | "TABLE_SIZE_UPDATE"
  /** The decoded header list exceeds maxHeaderListSize (the whole block was still processed). */
  | "HEADER_LIST_TOO_LARGE"
  /** An integer or string runs past the end of the block. */
  | "TRUNCATED";

export class HpackError extends Error {
  readonly code: HpackErrorCode;
  constructor(code: HpackErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "HpackError";
  }
}
