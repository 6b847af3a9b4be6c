// Power of two choices: sample two distinct endpoints uniformly at random, send to the one with the lower load.
// The load function is the subclass's; weights are honoured by dividing the load by the endpoint's weight.
// Per-endpoint state lives in a map by key and survives update() for the keys that stay.

import type { Balancer, BalancerEndpoint, BalancerKind, Outcome, PickContext } from "./types.ts";
import { uniqueByKey, weightOf } from "./types.ts";

/** Two distinct indices in [0, n) (n >= 2), uniformly: the second is drawn from the n - 1 others. */
export function twoDistinct(n: number, random: () => number): [number, number] {
  const a = Math.min(n - 1, Math.floor(random() * n));
  let b = Math.min(n - 2, Math.floor(random() * (n - 1)));
  if (b >= a) b++;
  return [a, b];
}

export interface InFlight {
  inflight: number;
}

export abstract class P2c<E extends BalancerEndpoint, S extends InFlight> implements Balancer<E> {
  abstract readonly kind: BalancerKind;
  protected list: E[] = [];
  protected readonly state = new Map<string, S>();
  /** The latest time seen (constructor, pick, onStart, onEnd); used when a pick brings no `now`. */
  protected lastNow: number;

  constructor(endpoints: readonly E[], protected readonly random: () => number, now = 0) {
    this.lastNow = now;
    this.update(endpoints);
  }

  protected abstract newState(e: E, now: number): S;
  /** The unweighted load of an endpoint at `now` (lower is better). */
  protected abstract load(s: S, now: number): number;
  /** Learns from a finished request (in-flight is already decremented). */
  protected learn(_s: S, _now: number, _outcome: Outcome): void {}

  pick(ctx?: PickContext): E | undefined {
    const now = this.tick(ctx?.now);
    const n = this.list.length;
    if (n === 0) return undefined;
    if (n === 1) return this.list[0];
    const [i, j] = twoDistinct(n, this.random);
    const a = this.list[i]!;
    const b = this.list[j]!;
    return this.cost(a, now) <= this.cost(b, now) ? a : b;
  }

  /** The weighted load the pick compares (exposed for tests and metrics). */
  cost(e: E, now: number): number {
    const s = this.state.get(e.key);
    return s ? this.load(s, now) / weightOf(e) : Infinity;
  }

  onStart(e: E, now: number): void {
    this.tick(now);
    const s = this.state.get(e.key);
    if (s) s.inflight++;
  }

  onEnd(e: E, now: number, outcome: Outcome): void {
    this.tick(now);
    const s = this.state.get(e.key);
    if (!s) return;
    if (s.inflight > 0) s.inflight--;
    this.learn(s, now, outcome);
  }

  update(endpoints: readonly E[]): void {
    this.list = uniqueByKey(endpoints);
    const keep = new Set<string>();
    for (const e of this.list) {
      keep.add(e.key);
      if (!this.state.has(e.key)) this.state.set(e.key, this.newState(e, this.lastNow));
    }
    for (const k of this.state.keys()) if (!keep.has(k)) this.state.delete(k);
  }

  endpoints(): readonly E[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  inflight(e: E): number {
    return this.state.get(e.key)?.inflight ?? 0;
  }

  private tick(now: number | undefined): number {
    if (now !== undefined && now > this.lastNow) this.lastNow = now;
    return now ?? this.lastNow;
  }
}
