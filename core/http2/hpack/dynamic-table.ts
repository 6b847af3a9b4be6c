// The dynamic table (RFC 7541 §2.3.2, §4): a ring buffer, newest entry first, with size accounting.

/** Per-entry overhead in the size accounting (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/** The encoder's index of one name: the newest entry with it, and the newest entry for each value. */
interface NameSlot {
  seq: number;
  values: Map<string, number>;
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
  private mask: number;
  /** Slot of the newest entry. */
  private head = 0;
  /** Entries ever inserted: the newest has sequence number `inserted`, entry i has `inserted - i`. */
  private inserted = 0;
  /** name → slot, kept only for the encoder (the decoder never searches). */
  private readonly byName: Map<string, NameSlot> | null;

  constructor(maxSize: number, searchable = false) {
    this.maxSize = maxSize;
    this.names = new Array<string>(16).fill("");
    this.values = new Array<string>(16).fill("");
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

  /** Inserts an entry, evicting old ones; an entry larger than maxSize empties the table (RFC 7541 §4.4). */
  add(name: string, value: string): void {
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
    this.length++;
    this.size += size;
    const seq = ++this.inserted;
    if (this.byName !== null) {
      const slot = this.byName.get(name);
      if (slot === undefined) this.byName.set(name, { seq, values: new Map([[value, seq]]) });
      else {
        slot.seq = seq;
        slot.values.set(value, seq);
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
    const slot = this.byName!.get(name);
    if (slot === undefined) return -1;
    const seq = slot.values.get(value);
    return seq === undefined ? -1 : this.inserted - seq;
  }

  /** Dynamic index of the newest entry with this name, or -1 (searchable tables only). */
  findName(name: string): number {
    const slot = this.byName!.get(name);
    return slot === undefined ? -1 : this.inserted - slot.seq;
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
        if (s.values.get(value) === seq) s.values.delete(value);
        if (s.seq === seq) this.byName.delete(name);
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
    for (let i = 0; i < n; i++) {
      names[i] = this.names[(this.head + i) & this.mask]!;
      values[i] = this.values[(this.head + i) & this.mask]!;
    }
    this.names = names;
    this.values = values;
    this.mask = n * 2 - 1;
    this.head = 0;
  }
}
