// The common balancer interface. A balancer is a pure object: time (`now`, ms) and randomness (`random()` in
// [0,1)) come in as arguments or constructor params; it never reads a clock or a global random source.
//
// The engine's protocol, per request:
//   const e = b.pick({ now, hashKey });   // undefined: no endpoints
//   b.onStart(e, now);                   // in-flight +1
//   ... b.onEnd(e, now, { ok, rttMs });  // in-flight -1; rttMs = time to the first response byte
// and, when discovery changes the set, b.update(endpoints): per-endpoint state (in-flight, RTT estimate,
// WRR position) is kept for every key that stays, so load-aware balancers keep what they learned.

/** What a balancer needs from an endpoint: a stable key and an optional weight (default 1). */
export interface BalancerEndpoint {
  readonly key: string;
  /** Relative weight, > 0; default 1. Non-finite or <= 0 is treated as 1. */
  readonly weight?: number;
}

export type BalancerKind = "peak-ewma" | "round-robin" | "weighted-round-robin" | "least-request" | "hash";

export interface PickContext {
  /** Monotonic ms; load-aware balancers decay their estimates to it (default: the last time they saw). */
  now?: number;
  /** For "hash": the affinity key the engine extracted (header, cookie or client address). */
  hashKey?: string;
}

export interface Outcome {
  ok: boolean;
  /** Latency to the first response byte (ms); absent when no byte came (e.g. connect failure). */
  rttMs?: number;
}

export interface Balancer<E extends BalancerEndpoint = BalancerEndpoint> {
  readonly kind: BalancerKind;
  /** Chooses an endpoint, or undefined when the set is empty. */
  pick(ctx?: PickContext): E | undefined;
  /** A request to `e` started (in-flight +1). */
  onStart(e: E, now: number): void;
  /** A request to `e` ended (in-flight -1, latency learned). Unknown (removed) endpoints are ignored. */
  onEnd(e: E, now: number, outcome: Outcome): void;
  /** Replaces the endpoint set, keeping per-endpoint state for keys that stay. */
  update(endpoints: readonly E[]): void;
  /** The current endpoints, in the order given to the constructor or the last update. */
  endpoints(): readonly E[];
  readonly size: number;
}

/** A weight usable in arithmetic: finite and > 0, else 1. */
export function weightOf(e: BalancerEndpoint): number {
  const w = e.weight;
  return w !== undefined && Number.isFinite(w) && w > 0 ? w : 1;
}

/** De-duplicates by key (the last entry for a key wins, at the first one's position). */
export function uniqueByKey<E extends BalancerEndpoint>(endpoints: readonly E[]): E[] {
  const at = new Map<string, number>();
  const out: E[] = [];
  for (const e of endpoints) {
    const i = at.get(e.key);
    if (i === undefined) {
      at.set(e.key, out.length);
      out.push(e);
    } else out[i] = e;
  }
  return out;
}
