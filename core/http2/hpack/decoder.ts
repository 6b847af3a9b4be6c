// The HPACK decoder (RFC 7541 §3, §6): one per connection direction, fed one complete header block at a time.

import { DynamicTable, ENTRY_OVERHEAD } from "./dynamic-table.ts";
import { HpackError } from "./errors.ts";
import { huffmanDecode, huffmanDecodedMax } from "./huffman.ts";
import { type Cursor, decodeInteger } from "./integer.ts";
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
  /** Huffman output, reused across strings. */
  private scratch = new Uint8Array(256);

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
   * Changes our advertised table size (call it once the peer acknowledged the setting). If it is below the
   * table's current limit, the peer's next block must start with a size update that brings it within (§4.2).
   */
  setMaxTableSize(limit: number): void {
    this.maxAllowed = limit;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION fragments joined). Throws HpackError. */
  decode(block: Uint8Array): string[] {
    const out: string[] = [];
    const table = this.table;
    const cur = this.cur;
    const end = block.length;
    cur.pos = 0;
    let listSize = 0;
    let fields = false;
    while (cur.pos < end) {
      const b = block[cur.pos]!;
      let name: string;
      let value: string;
      if (b >= 0x80) {
        const idx = decodeInteger(block, cur, 7);
        if (!fields) fields = this.startFields();
        if (idx <= STATIC_TABLE_LENGTH) {
          if (idx === 0) throw new HpackError("BAD_INDEX", "hpack: index 0");
          name = STATIC_NAMES[idx]!;
          value = STATIC_VALUES[idx]!;
        } else {
          const d = idx - STATIC_TABLE_LENGTH - 1;
          if (d >= table.length) throw new HpackError("BAD_INDEX", `hpack: index ${idx} beyond the tables`);
          name = table.name(d);
          value = table.value(d);
        }
      } else if (b >= 0x40) {
        const idx = decodeInteger(block, cur, 6);
        if (!fields) fields = this.startFields();
        name = idx === 0 ? this.readString(block) : this.indexedName(idx);
        value = this.readString(block);
        table.add(name, value);
      } else if (b >= 0x20) {
        if (fields) throw new HpackError("TABLE_SIZE_UPDATE", "hpack: dynamic table size update after a field");
        const size = decodeInteger(block, cur, 5);
        if (size > this.maxAllowed) {
          throw new HpackError("TABLE_SIZE_UPDATE", `hpack: table size update to ${size} above ${this.maxAllowed}`);
        }
        table.setMaxSize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): the table is untouched.
        const idx = decodeInteger(block, cur, 4);
        if (!fields) fields = this.startFields();
        if (listSize > this.maxListSize) {
          // Already over the limit and nothing to keep in sync: skip the strings without decoding them.
          if (idx === 0) this.skipString(block);
          else this.indexedName(idx);
          this.skipString(block);
          continue;
        }
        name = idx === 0 ? this.readString(block) : this.indexedName(idx);
        value = this.readString(block);
      }
      // Past the limit the fields are dropped, but the block is still read to keep the table in sync.
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize <= this.maxListSize) out.push(name, value);
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

  private indexedName(idx: number): string {
    if (idx <= STATIC_TABLE_LENGTH) return STATIC_NAMES[idx]!;
    const d = idx - STATIC_TABLE_LENGTH - 1;
    if (d >= this.table.length) throw new HpackError("BAD_INDEX", `hpack: index ${idx} beyond the tables`);
    return this.table.name(d);
  }

  private readString(block: Uint8Array): string {
    const cur = this.cur;
    if (cur.pos >= block.length) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    const huffman = block[cur.pos]! & 0x80;
    const len = decodeInteger(block, cur, 7);
    const start = cur.pos;
    const end = start + len;
    if (end > block.length) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    cur.pos = end;
    if (huffman === 0) return latin1(block, start, end);
    const max = huffmanDecodedMax(len);
    if (max > this.scratch.length) this.scratch = new Uint8Array(Math.max(max, this.scratch.length * 2));
    return latin1(this.scratch, 0, huffmanDecode(block, start, end, this.scratch));
  }

  private skipString(block: Uint8Array): void {
    const cur = this.cur;
    const len = decodeInteger(block, cur, 7);
    if (cur.pos + len > block.length) throw new HpackError("TRUNCATED", "hpack: string past the end of the block");
    cur.pos += len;
  }
}
