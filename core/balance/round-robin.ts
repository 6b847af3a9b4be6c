// Round-robin over an endpoint list (a pure object).

import type { Balancer, BalancerEndpoint, PickContext } from "./types.ts";
import { uniqueByKey } from "./types.ts";

/**
 * Plain round-robin behind the Balancer interface (weights ignored: use weighted-round-robin). Starts at a
 * random offset when `random` is given, so many proxies don't march in step; update() keeps the position.
 */
export class RoundRobinBalancer<E extends BalancerEndpoint> implements Balancer<E> {
  readonly kind = "round-robin" as const;
  private list: E[] = [];
  private next = 0;

  constructor(endpoints: readonly E[], random?: () => number) {
    this.update(endpoints);
    if (random && this.list.length > 0) this.next = Math.floor(random() * this.list.length);
  }

  pick(_ctx?: PickContext): E | undefined {
    const n = this.list.length;
    if (n === 0) return undefined;
    if (this.next >= n) this.next = 0;
    return this.list[this.next++];
  }

  onStart(): void {}
  onEnd(): void {}

  update(endpoints: readonly E[]): void {
    this.list = uniqueByKey(endpoints);
  }

  endpoints(): readonly E[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }
}
