// Huffman string coding (RFC 7541 §5.2, Appendix B).
//
// Decoding runs a byte-at-a-time state machine: a state is an internal node of the code tree (256 of them), and one
// table lookup per input octet gives the next state and the symbols completed on the way (at most two, as codes are
// at least 5 bits long).

import { HpackError } from "./errors.ts";
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./huffman-table.ts";

/** The encoded length in octets of a latin1 string; chars above 0xFF are a TypeError. */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError("hpack: non-latin1 character in header text");
    bits += HUFFMAN_LENGTHS[c]!;
  }
  return (bits + 7) >>> 3;
}

/**
 * Writes the Huffman code of `s` into `dst` at `pos`, padded with the high bits of EOS, and returns the position
 * after it; or -1 as soon as the output would reach `limit` (the caller's way to keep Huffman only when shorter).
 * Room up to `limit`, or for huffmanEncodedLength(s) octets without one, is the caller's job.
 */
export function huffmanEncode(s: string, dst: Uint8Array, pos: number, limit = Infinity): number {
  // Fewer than 8 bits are pending between symbols, so a code of up to 24 bits fits in the 32-bit acc; bits above
  // the pending ones are stale but never reach an output octet (stores keep the low 8 bits).
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError("hpack: non-latin1 character in header text");
    let len = HUFFMAN_LENGTHS[c]!;
    let code = HUFFMAN_CODES[c]!;
    if (len > 24) {
      // Rare (control and high octets): push the top bits first.
      const hi = len - 16;
      acc = (acc << hi) | (code >>> 16);
      bits += hi;
      while (bits >= 8) {
        bits -= 8;
        if (pos >= limit) return -1;
        dst[pos++] = acc >>> bits;
      }
      code &= 0xffff;
      len = 16;
    }
    acc = (acc << len) | code;
    bits += len;
    while (bits >= 8) {
      bits -= 8;
      if (pos >= limit) return -1;
      dst[pos++] = acc >>> bits;
    }
  }
  if (bits > 0) {
    if (pos >= limit) return -1;
    dst[pos++] = (acc << (8 - bits)) | (0xff >>> bits);
  }
  return pos;
}

// Byte table entry: bits 0-7 next state, 8-15 and 16-23 the symbols completed (count in bits 24-25), bit 26 EOS.
const ONE = 1 << 24;
const TWO = 2 << 24;
const FAIL = 4 << 24;
/** 256 states x 256 input octets; built on first use (256 KiB), as most processes may never decode HPACK. */
let byteTable: Uint32Array | null = null;
/** States where the string may end: the root and the all-ones path up to 7 bits deep (valid padding). */
const ACCEPT = new Uint8Array(256);

function buildTables(): Uint32Array {
  // The code tree: child[2 * node + bit] is an internal node (>= 0) or a leaf, -(symbol + 1).
  const child = new Int16Array(512);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let b = len - 1; b > 0; b--) {
      const slot = 2 * node + ((code >>> b) & 1);
      if (child[slot] === 0) child[slot] = nodes++;
      node = child[slot]!;
    }
    child[2 * node + (code & 1)] = -(sym + 1);
  }
  let node = 0;
  for (let depth = 0; depth < 8; depth++) {
    ACCEPT[node] = 1;
    node = child[2 * node + 1]!;
  }
  // Nibble steps first (a nibble completes at most one symbol: codes are 5 bits or more), then bytes as two nibbles.
  const nibble = new Uint32Array(256 * 16);
  for (let state = 0; state < 256; state++) {
    for (let n = 0; n < 16; n++) {
      let node = state;
      let entry = 0;
      for (let b = 3; b >= 0; b--) {
        const next = child[2 * node + ((n >>> b) & 1)]!;
        if (next < 0) {
          const sym = -next - 1;
          entry = sym === EOS ? FAIL : ONE | (sym << 8);
          node = 0;
        } else node = next;
      }
      nibble[(state << 4) | n] = entry | node;
    }
  }
  const table = new Uint32Array(256 * 256);
  for (let state = 0; state < 256; state++) {
    for (let b = 0; b < 256; b++) {
      const hi = nibble[(state << 4) | (b >>> 4)]!;
      const lo = nibble[((hi & 0xff) << 4) | (b & 0xf)]!;
      let e: number;
      if ((hi | lo) & FAIL) e = FAIL;
      else if (!(hi & ONE)) e = lo;
      else if (!(lo & ONE)) e = ONE | (hi & 0xff00) | (lo & 0xff);
      else e = TWO | (hi & 0xff00) | ((lo & 0xff00) << 8) | (lo & 0xff);
      table[(state << 8) | b] = e;
    }
  }
  return (byteTable = table);
}

/** The most octets `n` Huffman-coded octets can decode to (the shortest code is 5 bits). */
export function huffmanDecodedMax(n: number): number {
  return Math.floor((n * 8) / 5);
}

/**
 * Decodes src[start, end) into `dst` from offset 0 (room for huffmanDecodedMax(end - start) octets is the caller's
 * job) and returns the decoded length. Throws HpackError("BAD_HUFFMAN") on EOS or invalid padding.
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, dst: Uint8Array): number {
  const table = byteTable ?? buildTables();
  let state = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    const e = table[(state << 8) | src[i]!]!;
    if (e >= ONE) {
      if (e >= FAIL) throw new HpackError("BAD_HUFFMAN", "hpack: EOS in a Huffman string");
      dst[o++] = e >>> 8;
      if (e >= TWO) dst[o++] = e >>> 16;
    }
    state = e & 0xff;
  }
  if (ACCEPT[state] === 0) throw new HpackError("BAD_HUFFMAN", "hpack: bad Huffman padding");
  return o;
}
