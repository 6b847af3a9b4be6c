// The dynamic table (RFC 7541 §2.3.2, §4): a ring buffer, newest entry first, with size accounting.

import { STATIC_BY_NAME, type StaticName } from "./static-table.ts";

/** Per-entry overhead in the size accounting (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/**
 * The encoder's index of one name: its static-table entries, the newest dynamic entry with it, and the newest
 * dynamic entry for each value. One lookup by name gives both tables.
 */
export interface NameSlot {
  /** The static table's entries with this name, if any. */
  readonly st: StaticName | undefined;
  /** The sequence number of the newest dynamic entry with this name; 0 when there is none. */
  seq: number;
  /** Value → the sequence number of the newest dynamic entry with that pair; null before the first. */
  values: Map<string, number> | null;
}

export class DynamicTable {
  /** Sum of entry sizes (name + value octets + 32 each). */
  size = 0;
  /** Number of entries. */
  length = 0;
  /** The size limit currently in force. */
  maxSize: number;
  private names: string[];
  private values: string[];
  /** The decoder's field bits per entry (field-flags.ts), so a field taken from the table is not checked again. */
  private bits: Uint8Array;
  private mask: number;
  /** Slot of the newest entry. */
  private head = 0;
  /** Entries ever inserted: the newest has sequence number `inserted`, entry i has `inserted - i`. */
  private inserted = 0;
  /**
   * name → slot, kept only for the encoder (the decoder never searches): names with dynamic entries, and the
   * static table's names once used (at most 52, kept).
   */
  private readonly byName: Map<string, NameSlot> | null;

  constructor(maxSize: number, searchable = false) {
    this.maxSize = maxSize;
    this.names = new Array<string>(16).fill("");
    this.values = new Array<string>(16).fill("");
    this.bits = new Uint8Array(16);
    this.mask = 15;
    this.byName = searchable ? new Map() : null;
  }

  /** Name of entry i (0 = newest); i < length is the caller's job. */
  name(i: number): string {
    return this.names[(this.head + i) & this.mask]!;
  }

  value(i: number): string {
    return this.values[(this.head + i) & this.mask]!;
  }

  /** The field bits stored with entry i. */
  flags(i: number): number {
    return this.bits[(this.head + i) & this.mask]!;
  }

  /** Inserts an entry, evicting old ones; an entry larger than maxSize empties the table (RFC 7541 §4.4). */
  add(name: string, value: string, flags = 0): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - size);
    if (this.length === this.names.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.bits[this.head] = flags;
    this.length++;
    this.size += size;
    const seq = ++this.inserted;
    if (this.byName !== null) {
      const slot = this.byName.get(name);
      if (slot === undefined) this.byName.set(name, { st: STATIC_BY_NAME.get(name), seq, values: new Map([[value, seq]]) });
      else {
        slot.seq = seq;
        (slot.values ??= new Map()).set(value, seq);
      }
    }
  }

  /** Changes the size limit, evicting as needed. */
  setMaxSize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evictTo(maxSize);
  }

  /** Dynamic index (0 = newest) of an entry with this name and value, or -1 (searchable tables only). */
  findPair(name: string, value: string): number {
    const seq = this.byName!.get(name)?.values?.get(value);
    return seq === undefined ? -1 : this.inserted - seq;
  }

  /** Dynamic index of the newest entry with this name, or -1 (searchable tables only). */
  findName(name: string): number {
    const slot = this.byName!.get(name);
    return slot === undefined || slot.seq === 0 ? -1 : this.inserted - slot.seq;
  }

  /**
   * The slot of `name` (searchable tables only): its static entries and dynamic ones. Undefined for a name in
   * neither table. Slots of static names are made on first use and kept.
   */
  nameSlot(name: string): NameSlot | undefined {
    const byName = this.byName!;
    const slot = byName.get(name);
    if (slot !== undefined) return slot;
    const st = STATIC_BY_NAME.get(name);
    if (st === undefined) return undefined;
    const made: NameSlot = { st, seq: 0, values: null };
    byName.set(name, made);
    return made;
  }

  /** The dynamic index of the entry with this sequence number (from a NameSlot). */
  indexOf(seq: number): number {
    return this.inserted - seq;
  }

  private evictTo(target: number): void {
    while (this.size > target) {
      const slot = (this.head + this.length - 1) & this.mask;
      const name = this.names[slot]!;
      const value = this.values[slot]!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
      if (this.byName !== null) {
        // The oldest entry's sequence number; the index points at it only when no newer entry replaced it.
        const seq = this.inserted - this.length + 1;
        const s = this.byName.get(name)!;
        if (s.values!.get(value) === seq) s.values!.delete(value);
        if (s.seq === seq) {
          // It was the only entry with this name; a static name keeps its slot.
          if (s.st === undefined) this.byName.delete(name);
          else s.seq = 0;
        }
      }
      this.names[slot] = "";
      this.values[slot] = "";
      this.length--;
    }
  }

  private grow(): void {
    const n = this.names.length;
    const names = new Array<string>(n * 2).fill("");
    const values = new Array<string>(n * 2).fill("");
    const bits = new Uint8Array(n * 2);
    for (let i = 0; i < n; i++) {
      names[i] = this.names[(this.head + i) & this.mask]!;
      values[i] = this.values[(this.head + i) & this.mask]!;
      bits[i] = this.bits[(this.head + i) & this.mask]!;
    }
    this.names = names;
    this.values = values;
    this.bits = bits;
    this.mask = n * 2 - 1;
    this.head = 0;
  }
}
