// The HPACK decoder (RFC 7541 §3, §6): one per connection direction, fed one complete header block at a time.

import { DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { huffmanDecode, huffmanDecodedMax } from "./huffman.ts";
import { type Cursor, decodeInteger } from "./integer.ts";
import { fieldFlags, NAME_BITS, NAME_OK, OCTET_CLASS, PSEUDO, SENSITIVE, sensitiveName, specialName, VALUE_OK } from "./field-flags.ts";
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from "./static-table.ts";

export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the largest size update the peer may send (default 4096). */
  maxTableSize?: number;
  /** Limit on the decoded header list size (name + value + 32 per field, RFC 9113 §6.5.2); default 64 KiB. */
  maxHeaderListSize?: number;
}

const fromCharCode = String.fromCharCode;
/** WHATWG "latin1" is really windows-1252, so it is used only on pure ASCII, where the two agree. */
const asciiDecoder: TextDecoder | null = (() => {
  try {
    return new TextDecoder("latin1");
  } catch {
    return null;
  }
})();

// What one pass over a literal's octets tells (octetSummary), from which the field bits of field-flags.ts follow.
/** Every octet is a lower-case tchar (and there is at least one). */
const ALL_TCHAR = 1;
/** A NUL, CR or LF somewhere. */
const HAS_CTL = 2;
/** SP or HTAB first or last. */
const EDGE_WS = 4;
/** ':' first. */
const LEADING_COLON = 8;

function octetSummary(b: Uint8Array, start: number, end: number): number {
  if (end === start) return 0;
  let and = 1;
  let or = 0;
  for (let i = start; i < end; i++) {
    const c = OCTET_CLASS[b[i]!]!;
    and &= c;
    or |= c;
  }
  let r = and | (or & HAS_CTL);
  if (OCTET_CLASS[b[start]!] === 4 || OCTET_CLASS[b[end - 1]!] === 4) r |= EDGE_WS;
  if (b[start] === 0x3a) r |= LEADING_COLON;
  return r;
}

function nameBits(summary: number, name: string): number {
  if ((summary & LEADING_COLON) !== 0) return PSEUDO;
  return (summary & ALL_TCHAR) !== 0 ? NAME_OK | specialName(name) | sensitiveName(name) : 0;
}

function valueBits(summary: number): number {
  return (summary & (HAS_CTL | EDGE_WS)) === 0 ? VALUE_OK : 0;
}

function grown(a: Uint8Array): Uint8Array {
  const next = new Uint8Array(a.length * 2);
  next.set(a);
  return next;
}

/** The field bits of the static table's entries. */
const STATIC_FLAGS = new Uint8Array(STATIC_TABLE_LENGTH + 1);
for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) STATIC_FLAGS[i] = fieldFlags(STATIC_NAMES[i]!, STATIC_VALUES[i]!);

// Recently decoded string literals, by their octets on the wire: values repeat from message to message (a
// server's name, content types, today's date, a gRPC status) and often come as literals (nginx indexes nothing),
// so most are found here, without Huffman-decoding them or building the string again (String.fromCharCode costs
// Bun dearly). Shared by every decoder: strings are immutable. A slot holds the wire octets (Huffman-coded or
// raw, with that bit), the string and the octetSummary of its text; the slot is picked from the length, the bit
// and three octets, and a full comparison of the octets decides. Credentials stay out (field-flags.ts SENSITIVE).
const CACHE_SLOTS = 256;
const CACHE_MAX = 64;
const cacheStrings: string[] = new Array<string>(CACHE_SLOTS).fill("");
const cacheOctets = new Uint8Array(CACHE_SLOTS * CACHE_MAX);
/** The wire length + 1 (0: empty slot), and 0x80 when Huffman-coded. */
const cacheKey = new Uint8Array(CACHE_SLOTS);
const cacheSummary = new Uint8Array(CACHE_SLOTS);

/** The cache slot of a string literal from its key (length and Huffman bit) and first, middle and last octets. */
function cacheSlot(key: number, first: number, middle: number, last: number): number {
  return (Math.imul(key ^ (first << 8) ^ (last << 16) ^ (middle << 24), 0x9e3779b1) >>> 24) & (CACHE_SLOTS - 1);
}

/** A latin1 string of src[start, end): one char per octet. */
function latin1(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n > 64) {
    // Past a few dozen octets, the native decoder beats building the string in JS.
    if (asciiDecoder !== null && isAscii(b, start, end)) return asciiDecoder.decode(b.subarray(start, end));
    if (n > 256) return latin1Long(b, start, end);
  }
  // Eight chars per call, then one call for the rest: short strings come out flat in a single call.
  let s = "";
  let i = start;
  for (; end - i >= 8; i += 8) {
    s += fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  }
  switch (end - i) {
    case 1: return s + fromCharCode(b[i]!);
    case 2: return s + fromCharCode(b[i]!, b[i + 1]!);
    case 3: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    case 7: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
  }
  return s;
}

function isAscii(b: Uint8Array, start: number, end: number): boolean {
  let or = 0;
  for (let i = start; i < end; i++) or |= b[i]!;
  return or < 0x80;
}

/** Long non-ASCII strings (rare): apply over chunks small enough for the argument stack. */
function latin1Long(b: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += fromCharCode.apply(null, b.subarray(i, Math.min(i + 4096, end)) as unknown as number[]);
  }
  return s;
}

export class HpackDecoder {
  private readonly table: DynamicTable;
  /** Our advertised limit: size updates above it are errors. */
  private maxAllowed: number;
  private readonly maxListSize: number;
  private readonly cur: Cursor = { pos: 0 };
  /** The end of the block being decoded. */
  private end = 0;
  /** Huffman output, reused across strings. */
  private scratch = new Uint8Array(256);
  /** The octetSummary of the last string read. */
  private summary = 0;
  /** The field bits (field-flags.ts) of the name last looked up by index. */
  private nameFlags = 0;
  /** The field bits of each field the last decode() returned. */
  private flagsOut: Uint8Array = new Uint8Array(32);
  /** decode(block, true): the pseudo-header fields, their bits, and the first one after a regular field. */
  private readonly pseudo: string[] = [];
  private pseudoBits: Uint8Array = new Uint8Array(8);
  private pseudoN = 0;
  private misplaced = "";

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxAllowed = opts.maxTableSize ?? 4096;
    this.table = new DynamicTable(this.maxAllowed);
    this.maxListSize = opts.maxHeaderListSize ?? 64 * 1024;
  }

  /** The dynamic table's current size in octets, and the limit the peer's last size update set. */
  get tableSize(): number {
    return this.table.size;
  }

  get maxTableSize(): number {
    return this.table.maxSize;
  }

  /**
   * The field bits (NAME_OK, PSEUDO, VALUE_OK, SPECIAL of field-flags.ts) of the fields the last decode() returned:
   * fieldFlags[i] for the name and value at 2i and 2i+1. Valid until the next decode().
   */
  get fieldFlags(): Uint8Array {
    return this.flagsOut;
  }

  /** After decode(block, true): how many pseudo-header fields the block had (they are not in the list returned). */
  get pseudoCount(): number {
    return this.pseudoN;
  }

  /**
   * After decode(block, true): the pseudo-header fields, name and value of the i-th at 2i and 2i+1, for
   * i < pseudoCount (entries past it are stale). Valid until the next decode().
   */
  get pseudoFields(): readonly string[] {
    return this.pseudo;
  }

  /** After decode(block, true): the field bits of the pseudo-header fields. */
  get pseudoFlags(): Uint8Array {
    return this.pseudoBits;
  }

  /** After decode(block, true): the first pseudo-header that came after a regular field, or "". */
  get misplacedPseudo(): string {
    return this.misplaced;
  }

  /**
   * Changes our advertised table size (call it once the peer acknowledged the setting). If it is below the
   * table's current limit, the peer's next block must start with a size update that brings it within (§4.2).
   */
  setMaxTableSize(limit: number): void {
    this.maxAllowed = limit;
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION fragments joined). Throws HpackError. With `split`,
   * pseudo-header fields (names starting with ':') are kept apart (pseudoCount, pseudoFields, pseudoFlags,
   * misplacedPseudo) and the list returned has the regular fields only. The block may be a part of `block`,
   * block[start, end).
   */
  decode(block: Uint8Array, split = false, start = 0, end = block.length): string[] {
    const out: string[] = [];
    this.pseudoN = 0;
    this.misplaced = "";
    this.end = end;
    const table = this.table;
    const cur = this.cur;
    cur.pos = start;
    let listSize = 0;
    let fields = false;
    while (cur.pos < end) {
      const b = block[cur.pos]!;
      let name: string;
      let value: string;
      let flags: number;
      if (b >= 0x80) {
        const idx = decodeInteger(block, cur, 7, end);
        if (!fields) fields = this.startFields();
        if (idx <= STATIC_TABLE_LENGTH) {
          if (idx === 0) throw new HpackError("BAD_INDEX", "hpack: index 0");
          name = STATIC_NAMES[idx]!;
          value = STATIC_VALUES[idx]!;
          flags = STATIC_FLAGS[idx]!;
        } else {
          const d = idx - STATIC_TABLE_LENGTH - 1;
          if (d >= table.length) throw new HpackError("BAD_INDEX", `hpack: index ${idx} beyond the tables`);
          name = table.name(d);
          value = table.value(d);
          flags = table.flags(d);
        }
      } else if (b >= 0x40) {
        const idx = decodeInteger(block, cur, 6, end);
        if (!fields) fields = this.startFields();
        name = this.readName(block, idx);
        flags = this.nameFlags;
        value = this.readString(block, (flags & SENSITIVE) === 0);
        flags |= valueBits(this.summary);
        table.add(name, value, flags);
      } else if (b >= 0x20) {
        if (fields) throw new HpackError("TABLE_SIZE_UPDATE", "hpack: dynamic table size update after a field");
        const size = decodeInteger(block, cur, 5, end);
        if (size > this.maxAllowed) {
          throw new HpackError("TABLE_SIZE_UPDATE", `hpack: table size update to ${size} above ${this.maxAllowed}`);
        }
        table.setMaxSize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): the table is untouched.
        const idx = decodeInteger(block, cur, 4, end);
        if (!fields) fields = this.startFields();
        if (listSize > this.maxListSize) {
          // Already over the limit and nothing to keep in sync: skip the strings without decoding them.
          if (idx === 0) this.skipString(block);
          else this.indexedName(idx);
          this.skipString(block);
          continue;
        }
        name = this.readName(block, idx);
        flags = this.nameFlags;
        // Never indexed (0001): the peer's mark of a sensitive value, kept out of the shared cache as well.
        value = this.readString(block, (flags & SENSITIVE) === 0 && (b & 0x10) === 0);
        flags |= valueBits(this.summary);
      }
      // Past the limit the fields are dropped, but the block is still read to keep the table in sync.
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.maxListSize) continue;
      if (split && (flags & PSEUDO) !== 0) {
        if (out.length > 0 && this.misplaced === "") this.misplaced = name;
        const k = this.pseudoN++;
        if (k === this.pseudoBits.length) this.pseudoBits = grown(this.pseudoBits);
        this.pseudoBits[k] = flags;
        this.pseudo[2 * k] = name;
        this.pseudo[2 * k + 1] = value;
      } else {
        const k = out.length >> 1;
        if (k === this.flagsOut.length) this.flagsOut = grown(this.flagsOut);
        this.flagsOut[k] = flags;
        out.push(name, value);
      }
    }
    if (listSize > this.maxListSize) {
      throw new HpackError("HEADER_LIST_TOO_LARGE", `hpack: header list above ${this.maxListSize} octets`);
    }
    return out;
  }

  /** At the first field: any size update we required has been received. */
  private startFields(): boolean {
    if (this.table.maxSize > this.maxAllowed) {
      throw new HpackError("TABLE_SIZE_UPDATE", "hpack: missing dynamic table size update");
    }
    return true;
  }

  /** The name of a literal field: a string (idx 0) or a table entry's; its field bits in nameFlags. */
  private readName(block: Uint8Array, idx: number): string {
    if (idx !== 0) return this.indexedName(idx);
    const name = this.readString(block, true);
    this.nameFlags = nameBits(this.summary, name);
    return name;
  }

  private indexedName(idx: number): string {
    if (idx <= STATIC_TABLE_LENGTH) {
      this.nameFlags = STATIC_FLAGS[idx]! & NAME_BITS;
      return STATIC_NAMES[idx]!;
    }
    const d = idx - STATIC_TABLE_LENGTH - 1;
    if (d >= this.table.length) throw new HpackError("BAD_INDEX", `hpack: index ${idx} beyond the tables`);
    this.nameFlags = this.table.flags(d) & NAME_BITS;
    return this.table.name(d);
  }

  /** A string literal; the octetSummary of its text in `summary`. `shared`: it may go through the shared cache. */
  private readString(block: Uint8Array, shared: boolean): string {
    const cur = this.cur;
    if (cur.pos >= this.end) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    const huffman = block[cur.pos]! & 0x80;
    const len = decodeInteger(block, cur, 7, this.end);
    const start = cur.pos;
    const end = start + len;
    if (end > this.end) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    cur.pos = end;
    if (len === 0) {
      this.summary = 0;
      return "";
    }
    if (len > CACHE_MAX || !shared) return this.decodeString(block, start, end, huffman);
    const key = (len + 1) | huffman;
    const slot = cacheSlot(key, block[start]!, block[start + (len >> 1)]!, block[end - 1]!);
    const base = slot * CACHE_MAX;
    if (cacheKey[slot] === key) {
      let i = 0;
      while (i < len && cacheOctets[base + i] === block[start + i]) i++;
      if (i === len) {
        this.summary = cacheSummary[slot]!;
        return cacheStrings[slot]!;
      }
    }
    const str = this.decodeString(block, start, end, huffman);
    for (let i = 0; i < len; i++) cacheOctets[base + i] = block[start + i]!;
    cacheKey[slot] = key;
    cacheStrings[slot] = str;
    cacheSummary[slot] = this.summary;
    return str;
  }

  /** The text of block[start, end), Huffman-coded or not; its octetSummary in `summary`. */
  private decodeString(block: Uint8Array, start: number, end: number, huffman: number): string {
    if (huffman === 0) {
      this.summary = octetSummary(block, start, end);
      return latin1(block, start, end);
    }
    const max = huffmanDecodedMax(end - start);
    if (max > this.scratch.length) this.scratch = new Uint8Array(Math.max(max, this.scratch.length * 2));
    const n = huffmanDecode(block, start, end, this.scratch);
    this.summary = octetSummary(this.scratch, 0, n);
    return latin1(this.scratch, 0, n);
  }

  private skipString(block: Uint8Array): void {
    const cur = this.cur;
    const len = decodeInteger(block, cur, 7, this.end);
    if (cur.pos + len > this.end) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    cur.pos += len;
  }
}
