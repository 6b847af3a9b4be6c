// Prefix integers (RFC 7541 §5.1).

import { HpackError } from "./errors.ts";

/** The largest integer we accept or write: every length and index fits in 31 bits. */
export const MAX_INTEGER = 0x7fffffff;
/** Continuation bytes allowed after the prefix (5 carry 35 bits; one more tolerates a zero-padded encoding). */
const MAX_CONTINUATION = 6;

/** A read position, advanced by the readers. */
export interface Cursor {
  pos: number;
}

/**
 * Writes `value` with an N-bit prefix into `dst` at `pos`; `flags` are the bits above the prefix in the first
 * byte. The caller guarantees 6 bytes of room. Returns the position after the integer.
 */
export function encodeInteger(dst: Uint8Array, pos: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    dst[pos] = flags | value;
    return pos + 1;
  }
  dst[pos++] = flags | max;
  value -= max;
  while (value >= 0x80) {
    dst[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  dst[pos] = value;
  return pos + 1;
}

/** The number of octets encodeInteger writes for `value` with an N-bit prefix. */
export function integerLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (value -= max; value >= 0x80; value >>>= 7) n++;
  return n;
}

/**
 * Reads an integer with an N-bit prefix at `cur.pos` (the prefix byte included) and advances `cur`; the block
 * ends at `end` (default: the end of `src`).
 */
export function decodeInteger(src: Uint8Array, cur: Cursor, prefixBits: number, end = src.length): number {
  let pos = cur.pos;
  if (pos >= end) throw new HpackError("TRUNCATED", "hpack: integer past the end of the block");
  const max = (1 << prefixBits) - 1;
  let value = src[pos++]! & max;
  if (value < max) {
    cur.pos = pos;
    return value;
  }
  // Multiplication rather than shifts: the sum may pass 2^31 before the check rejects it.
  let mul = 1;
  for (let n = 0; ; n++) {
    if (n === MAX_CONTINUATION) throw new HpackError("BAD_INTEGER", "hpack: integer too long");
    if (pos >= end) throw new HpackError("TRUNCATED", "hpack: integer past the end of the block");
    const b = src[pos++]!;
    value += (b & 0x7f) * mul;
    if (value > MAX_INTEGER) throw new HpackError("BAD_INTEGER", "hpack: integer above 2^31-1");
    if (b < 0x80) break;
    mul *= 128;
  }
  cur.pos = pos;
  return value;
}
