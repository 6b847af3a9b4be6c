// HPACK (RFC 7541): header compression for HTTP/2.

export { HpackDecoder } from "./decoder.ts";
export type { HpackDecoderOptions } from "./decoder.ts";
export { defaultRepresentation, HpackEncoder } from "./encoder.ts";
export type { FieldRepresentation, HpackEncoderOptions } from "./encoder.ts";
export { HpackError } from "./errors.ts";
export type { HpackErrorCode } from "./errors.ts";
