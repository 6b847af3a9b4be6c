// The HPACK encoder (RFC 7541 §6): one instance per connection direction, fed one header block at a time.

import { DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.ts";
import { huffmanEncode, huffmanEncodedLength } from "./huffman.ts";
import { sensitiveName } from "./field-flags.ts";
import { encodeInteger, integerLength } from "./integer.ts";
import { STATIC_TABLE_LENGTH } from "./static-table.ts";

/** How a field without a full table match is written. */
export type FieldRepresentation =
  /** Literal with incremental indexing (RFC 7541 §6.2.1). */
  | "index"
  /** Literal without indexing (§6.2.2). */
  | "no-index"
  /** Literal never indexed (§6.2.3): intermediaries must keep it a literal too. */
  | "never-index";

export interface HpackEncoderOptions {
  /** Initial dynamic table size limit in octets (the peer's SETTINGS_HEADER_TABLE_SIZE; default 4096). */
  maxTableSize?: number;
  /** Huffman-code a string when that makes it shorter ("auto", default), always, or never. */
  huffman?: "auto" | "always" | "never";
  /** The most table the encoder uses whatever the peer allows (default 4096): bounds memory per connection. */
  preferredTableSize?: number;
  /** Replaces defaultRepresentation for fields without a full match (an entry above 3/4 of the table is still
   *  never indexed). */
  represent?: (name: string, value: string) => FieldRepresentation;
}

const DEFAULT_TABLE_SIZE = 4096;
/** Buffers grown past this are dropped after the block, so one huge block does not pin memory. */
const KEEP_BUFFER = 64 * 1024;

/** Values that rarely repeat: indexing them would only evict useful entries. */
const NOT_INDEXED = new Set([
  "content-length",
  "content-range",
  "date",
  "etag",
  "expires",
  "last-modified",
  "if-modified-since",
  "if-none-match",
  "if-unmodified-since",
  "age",
  "x-request-id",
  "traceparent",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-amzn-trace-id",
]);

/** The default policy: credentials never indexed, one-off values not indexed, the rest indexed. */
export function defaultRepresentation(name: string, value: string): FieldRepresentation {
  switch (name) {
    case "authorization":
    case "proxy-authorization":
    case "set-cookie":
      return "never-index";
    case "cookie":
      // Short cookies are guessable by probing the table (CRIME-style); long ones are worth compressing.
      return value.length < 20 ? "never-index" : "index";
    case ":path":
      return value.length > 64 || value.indexOf("?") >= 0 ? "no-index" : "index";
  }
  return NOT_INDEXED.has(name) ? "no-index" : "index";
}

// Recently encoded string literals ("auto" Huffman mode), by their text: values that are not indexed (a date, an
// etag, a content-length) repeat from message to message, and copying their encoding back is cheaper than
// Huffman-coding them again. Shared by every encoder (the encoding depends on the text alone); a slot is picked
// from the length and three chars, and the string decides (the same string object, as a value passed on
// usually is, compares at once). Short strings are cheap to encode anyway. Credentials stay out (writeLiteral).
const CACHE_SLOTS = 256;
const CACHE_MIN = 8;
const CACHE_MAX = 64;
/** Room for the largest encoding: a one-octet length prefix (below 127) and the raw text. */
const CACHE_BYTES = CACHE_MAX + 1;
const cacheStrings: string[] = new Array<string>(CACHE_SLOTS).fill("");
const cacheOctets = new Uint8Array(CACHE_SLOTS * CACHE_BYTES);
const cacheLength = new Uint8Array(CACHE_SLOTS);

const HUFFMAN_AUTO = 0;
const HUFFMAN_ALWAYS = 1;
const HUFFMAN_NEVER = 2;

export class HpackEncoder {
  private readonly table: DynamicTable;
  private readonly preferred: number;
  private readonly huffman: number;
  private readonly represent: (name: string, value: string) => FieldRepresentation;
  /** Where the block is being written: `own`, or the caller's buffer (beginAt()), or a buffer either grew into. */
  private buf: Uint8Array = new Uint8Array(1024);
  private own: Uint8Array = this.buf;
  private pos = 0;
  /** Where the block being written starts in `buf`. */
  private blockStart = 0;
  /** Size updates owed at the start of the next block (-1: none): the smallest size since the last block, and
   *  the final one. */
  private pendingMin = -1;
  private pendingFinal = -1;

  constructor(opts: HpackEncoderOptions = {}) {
    const limit = opts.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.preferred = opts.preferredTableSize ?? DEFAULT_TABLE_SIZE;
    const size = Math.min(limit, this.preferred);
    this.table = new DynamicTable(size, true);
    // The peer's decoder starts at `limit`: tell it if we use less.
    if (size !== limit) this.pendingMin = this.pendingFinal = size;
    this.huffman = opts.huffman === "always" ? HUFFMAN_ALWAYS : opts.huffman === "never" ? HUFFMAN_NEVER : HUFFMAN_AUTO;
    this.represent = opts.represent ?? defaultRepresentation;
  }

  /** The dynamic table's current size in octets and its limit (for tests and metrics). */
  get tableSize(): number {
    return this.table.size;
  }

  get maxTableSize(): number {
    return this.pendingFinal >= 0 ? this.pendingFinal : this.table.maxSize;
  }

  /**
   * The peer's new SETTINGS_HEADER_TABLE_SIZE: the encoder uses min(limit, preferredTableSize) and emits the size
   * update(s) at the start of the next block; if the size went down and back up, the smallest one first (§4.2).
   */
  setMaxTableSize(limit: number): void {
    const size = Math.min(limit, this.preferred);
    if (this.pendingFinal < 0) {
      if (size === this.table.maxSize) return;
      this.pendingMin = size;
    } else if (size < this.pendingMin) this.pendingMin = size;
    this.pendingFinal = size;
  }

  /** Encodes one header block ([name0, value0, name1, value1, ...], names lower-case, latin1 text). */
  encode(headers: readonly string[]): Uint8Array {
    this.begin(0);
    for (let i = 0; i + 1 < headers.length; i += 2) this.field(headers[i]!, headers[i + 1]!);
    const out = this.buf.slice(0, this.finish());
    this.release();
    return out;
  }

  /**
   * Starts a header block in the encoder's scratch buffer after `reserve` free octets (room for a frame header),
   * for field() calls and then finish(). The block is scratch[reserve, finish()), valid until the next begin().
   */
  begin(reserve: number): void {
    this.buf = this.own;
    this.pos = 0;
    this.blockStart = 0;
    this.ensure(reserve);
    this.pos = this.blockStart = reserve;
    if (this.pendingFinal >= 0) this.writeSizeUpdates();
  }

  /**
   * Starts a header block written straight into `buf` from `pos` (the caller's output buffer), for field() calls
   * and then finish(). If it outgrows `buf`, the encoder goes on in a buffer of its own, with the block at the
   * same offsets: read it from `scratch` after finish(). `buf` is not written outside [pos, finish()).
   */
  beginAt(buf: Uint8Array, pos: number): void {
    this.buf = buf;
    this.pos = this.blockStart = pos;
    if (this.pendingFinal >= 0) this.writeSizeUpdates();
  }

  /** Encodes one field (name lower-case, latin1 text) of the block begun. */
  field(name: string, value: string): void {
    const table = this.table;
    const slot = table.nameSlot(name);
    let nameIdx = 0;
    if (slot !== undefined) {
      const st = slot.st;
      if (st !== undefined) {
        const idx = st.values.get(value);
        if (idx !== undefined) {
          this.writeIndexed(idx);
          return;
        }
      }
      const seq = slot.values?.get(value);
      if (seq !== undefined) {
        this.writeIndexed(STATIC_TABLE_LENGTH + 1 + table.indexOf(seq));
        return;
      }
      if (st !== undefined) nameIdx = st.index;
      else if (slot.seq !== 0) nameIdx = STATIC_TABLE_LENGTH + 1 + table.indexOf(slot.seq);
    }
    const rep = this.represent(name, value);
    if (rep === "index" && this.worthIndexing(name, value)) {
      this.writeLiteral(nameIdx, name, value, 6, 0x40);
      table.add(name, value);
    } else this.writeLiteral(nameIdx, name, value, 4, rep === "never-index" ? 0x10 : 0x00);
  }

  /** Ends the block begun: returns its end in scratch. */
  finish(): number {
    return this.pos;
  }

  /** The buffer the block begun went into (begin(), beginAt(), or the one it grew into): read it after finish(). */
  get scratch(): Uint8Array {
    return this.buf;
  }

  /** The block was used: the caller's buffer is let go, and so is a buffer one huge block grew (not to pin memory). */
  release(): void {
    if (this.own.length > KEEP_BUFFER) this.own = new Uint8Array(1024);
    this.buf = this.own;
  }

  /** An entry above 3/4 of the table would flush most of it for one field. */
  private worthIndexing(name: string, value: string): boolean {
    return (name.length + value.length + ENTRY_OVERHEAD) * 4 <= this.table.maxSize * 3;
  }

  private writeSizeUpdates(): void {
    this.ensure(12);
    if (this.pendingMin < this.pendingFinal) {
      this.pos = encodeInteger(this.buf, this.pos, this.pendingMin, 5, 0x20);
      this.table.setMaxSize(this.pendingMin);
    }
    this.pos = encodeInteger(this.buf, this.pos, this.pendingFinal, 5, 0x20);
    this.table.setMaxSize(this.pendingFinal);
    this.pendingMin = this.pendingFinal = -1;
  }

  private writeIndexed(index: number): void {
    this.ensure(6);
    this.pos = encodeInteger(this.buf, this.pos, index, 7, 0x80);
  }

  private writeLiteral(nameIdx: number, name: string, value: string, prefixBits: number, flags: number): void {
    this.ensure(6);
    this.pos = encodeInteger(this.buf, this.pos, nameIdx, prefixBits, flags);
    if (nameIdx === 0) this.writeString(name);
    // Credentials (and what the policy never indexes) stay out of the cache the encoders share.
    if (flags === 0x10 || sensitiveName(name) !== 0) this.encodeString(value);
    else this.writeString(value);
  }

  private writeString(s: string): void {
    const n = s.length;
    if (this.huffman !== HUFFMAN_AUTO || n < CACHE_MIN || n > CACHE_MAX) {
      this.encodeString(s);
      return;
    }
    const slot = (Math.imul(n ^ (s.charCodeAt(0) << 8) ^ (s.charCodeAt(n - 1) << 16) ^ (s.charCodeAt(n >> 1) << 24), 0x9e3779b1) >>> 24) &
      (CACHE_SLOTS - 1);
    const base = slot * CACHE_BYTES;
    if (cacheStrings[slot] === s) {
      const m = cacheLength[slot]!;
      this.ensure(m);
      const buf = this.buf;
      const p = this.pos;
      for (let i = 0; i < m; i++) buf[p + i] = cacheOctets[base + i]!;
      this.pos = p + m;
      return;
    }
    const p = this.pos;
    this.encodeString(s);
    const m = this.pos - p;
    const buf = this.buf;
    for (let i = 0; i < m; i++) cacheOctets[base + i] = buf[p + i]!;
    cacheLength[slot] = m;
    cacheStrings[slot] = s;
  }

  /** A string literal: Huffman-coded if that is shorter ("auto"), always, or never. */
  private encodeString(s: string): void {
    const n = s.length;
    if (this.huffman === HUFFMAN_AUTO) {
      // Huffman-code straight after room for the raw length prefix, giving up once it is no shorter than raw.
      const hdr = integerLength(n, 7);
      this.ensure(hdr + n);
      const start = this.pos + hdr;
      const end = huffmanEncode(s, this.buf, start, start + n);
      if (end >= 0 && end - start < n) {
        const h = end - start;
        const hHdr = integerLength(h, 7);
        if (hHdr < hdr) this.buf.copyWithin(this.pos + hHdr, start, end);
        encodeInteger(this.buf, this.pos, h, 7, 0x80);
        this.pos += hHdr + h;
        return;
      }
    } else if (this.huffman === HUFFMAN_ALWAYS) {
      const h = huffmanEncodedLength(s);
      this.ensure(6 + h);
      this.pos = huffmanEncode(s, this.buf, encodeInteger(this.buf, this.pos, h, 7, 0x80));
      return;
    }
    this.ensure(6 + n);
    const buf = this.buf;
    let p = encodeInteger(buf, this.pos, n, 7, 0);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) throw new TypeError("hpack: non-latin1 character in header text");
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** Room for n more octets: a bigger buffer of our own, with the block copied to the same offsets. */
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(this.blockStart, this.pos), this.blockStart);
    if (this.buf === this.own) this.own = next;
    this.buf = next;
  }
}
