// The streams closed most recently and how they closed, so late frames for them are told apart from frames for
// idle streams (RFC 9113 §5.1). A Map for lookups plus a ring of ids for eviction order: evicting a Map's first
// key while appending at its end makes V8's and JSC's iterators walk over the deleted entries (0.35 µs per
// eviction on Node, 0.9 µs on Bun at 1024 entries, against 0.05 µs with the ring), and two streams close per
// proxied request.

export class ClosedIds {
  private readonly reasons = new Map<number, number>();
  private readonly ring: Int32Array;
  private next = 0;

  constructor(capacity: number) {
    this.ring = new Int32Array(capacity);
  }

  get size(): number {
    return this.reasons.size;
  }

  get(id: number): number | undefined {
    return this.reasons.get(id);
  }

  has(id: number): boolean {
    return this.reasons.has(id);
  }

  /** Remembers how `id` closed; once full, the id remembered longest ago is forgotten. */
  set(id: number, reason: number): void {
    if (this.reasons.has(id)) {
      this.reasons.set(id, reason);
      return;
    }
    const ring = this.ring;
    if (this.reasons.size >= ring.length) this.reasons.delete(ring[this.next]!);
    ring[this.next] = id;
    this.next = this.next + 1 === ring.length ? 0 : this.next + 1;
    this.reasons.set(id, reason);
  }
}
