// Power of two choices: compare two distinct endpoints, send to the one with the lower load. The first candidate
// comes from a cursor rotating over the endpoints (starting at a random place), the second is drawn at random from
// the others. Against two random draws this keeps P2C's load awareness (a slow or busy endpoint loses nearly every
// comparison it is in) while spreading requests evenly: with two random draws some endpoints see bursts of 3-4
// concurrent requests, so a proxy holds ~3 pooled connections per endpoint instead of ~2, and each costs wake-ups
// and cache misses (docs/benchmarks.md, "Routing and balancing cost"). It also draws one random number, not two.
// The load function is the subclass's; weights are honoured by dividing the load by the endpoint's weight.
// Per-endpoint state lives in a map by key and survives update() for the keys that stay.

import type { Balancer, BalancerEndpoint, BalancerKind, Outcome, PickContext } from "./types.ts";
import { uniqueByKey, weightOf } from "./types.ts";

/** An index in [0, n) other than `a` (n >= 2), uniformly among the n - 1 others. */
export function otherIndex(a: number, n: number, random: () => number): number {
  const b = Math.min(n - 2, Math.floor(random() * (n - 1)));
  return b >= a ? b + 1 : b;
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
  /** The first candidate of the next pick (taken modulo the current size). */
  private cursor: number;

  constructor(endpoints: readonly E[], protected readonly random: () => number, now = 0) {
    this.lastNow = now;
    this.cursor = Math.floor(random() * 0x7fffffff);
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
    const i = this.cursor++ % n;
    if (this.cursor > 0x3fffffff) this.cursor = i + 1;
    const a = this.list[i]!;
    const b = this.list[otherIndex(i, n, this.random)]!;
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
