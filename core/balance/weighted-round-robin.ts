// Smooth weighted round-robin (nginx's algorithm), deterministic. Each pick: every endpoint's current weight
// grows by its weight; the largest (first on ties) is chosen and loses the total. Weights 5,1,1 give
// a a b a c a a: proportional and interleaved. Current weights survive update() for keys that stay.

import type { Balancer, BalancerEndpoint, PickContext } from "./types.ts";
import { uniqueByKey, weightOf } from "./types.ts";

export class WeightedRoundRobinBalancer<E extends BalancerEndpoint> implements Balancer<E> {
  readonly kind = "weighted-round-robin" as const;
  private list: E[] = [];
  private weights: number[] = [];
  private current: number[] = [];
  private total = 0;

  constructor(endpoints: readonly E[]) {
    this.update(endpoints);
  }

  pick(_ctx?: PickContext): E | undefined {
    const n = this.list.length;
    if (n === 0) return undefined;
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.current[i]! += this.weights[i]!;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return this.list[best];
  }

  onStart(): void {}
  onEnd(): void {}

  update(endpoints: readonly E[]): void {
    const prev = new Map<string, number>();
    this.list.forEach((e, i) => prev.set(e.key, this.current[i]!));
    this.list = uniqueByKey(endpoints);
    this.weights = this.list.map(weightOf);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.current = this.list.map((e) => prev.get(e.key) ?? 0);
  }

  endpoints(): readonly E[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }
}
