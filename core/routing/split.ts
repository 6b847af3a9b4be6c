// Weighted backend choice for one rule (traffic split, canary). An immutable snapshot: build a new one when the
// weights change. Weight-0 backends are never chosen; with no positive weight pick() returns undefined, and the
// engine answers 500 (Gateway API).

import type { BackendRef } from "./types.ts";

export class WeightedSplit {
  private readonly names: string[] = [];
  /** Cumulative weights, strictly increasing. */
  private readonly cumulative: number[] = [];
  readonly total: number;

  constructor(backends: readonly BackendRef[]) {
    let total = 0;
    for (const b of backends) {
      const w = b.weight ?? 1;
      if (!(w > 0) || !Number.isFinite(w)) continue;
      total += w;
      this.names.push(b.name);
      this.cumulative.push(total);
    }
    this.total = total;
  }

  /** A backend name, given `random()` in [0, 1); O(log n). */
  pick(random: () => number): string | undefined {
    const n = this.names.length;
    if (n === 0) return undefined;
    if (n === 1) return this.names[0];
    const x = random() * this.total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.names[lo];
  }
}
