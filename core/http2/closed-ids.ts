// The streams closed most recently and how they closed, so late frames for them are told apart from frames for
// idle streams (RFC 9113 §5.1). Two streams close per proxied request, so this is on the hot path and allocates
// nothing: an open-addressing hash table of ids in typed arrays (linear probing, backward-shift deletion, at most
// half full) for lookups, plus a ring of ids for eviction order. (A Map evicted by its first key made V8's and
// JSC's iterators walk over deleted entries, 0.35 µs per eviction on Node and 0.9 µs on Bun at 1024 entries;
// a Map beside the ring still allocated as it rehashed.)

export class ClosedIds {
  /** Stream ids (> 0) by slot; 0 marks an empty slot. */
  private readonly keys: Int32Array;
  private readonly reasons: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  private readonly ring: Int32Array;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    let bits = 2;
    while (1 << bits < 2 * capacity) bits++;
    this.keys = new Int32Array(1 << bits);
    this.reasons = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.ring = new Int32Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get(id: number): number | undefined {
    const i = this.slot(id);
    return this.keys[i] === 0 ? undefined : this.reasons[i];
  }

  has(id: number): boolean {
    return this.keys[this.slot(id)] !== 0;
  }

  /** Remembers how `id` (> 0) closed; once full, the id remembered longest ago is forgotten. */
  set(id: number, reason: number): void {
    let i = this.slot(id);
    if (this.keys[i] === id) {
      this.reasons[i] = reason;
      return;
    }
    const ring = this.ring;
    if (this.count >= ring.length) {
      this.remove(ring[this.next]!);
      i = this.slot(id);
    }
    this.keys[i] = id;
    this.reasons[i] = reason;
    this.count++;
    ring[this.next] = id;
    this.next = this.next + 1 === ring.length ? 0 : this.next + 1;
  }

  private home(id: number): number {
    return Math.imul(id, 0x9e3779b1) >>> this.shift;
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private slot(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(id);
    for (;;) {
      const k = keys[i]!;
      if (k === id || k === 0) return i;
      i = (i + 1) & mask;
    }
  }

  private remove(id: number): void {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.slot(id);
    if (keys[i] === 0) return;
    // Backward-shift deletion: move up each later entry of the probe run whose home is not between the hole
    // and its own slot, so every lookup still finds its id before an empty slot.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === 0) break;
      const h = this.home(k);
      if (i <= j ? i < h && h <= j : i < h || h <= j) continue;
      keys[i] = k;
      this.reasons[i] = this.reasons[j]!;
      i = j;
    }
    keys[i] = 0;
    this.count--;
  }
}
