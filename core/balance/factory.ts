// Builds a balancer by kind. Every kind implements Balancer<E>; "peak-ewma" is the default.

import { MaglevBalancer, type MaglevOptions } from "./hash.ts";
import { LeastRequestBalancer } from "./least-request.ts";
import { PeakEwmaBalancer, type PeakEwmaOptions } from "./peak-ewma.ts";
import { RoundRobinBalancer } from "./round-robin.ts";
import type { Balancer, BalancerEndpoint, BalancerKind } from "./types.ts";
import { WeightedRoundRobinBalancer } from "./weighted-round-robin.ts";

export const BALANCER_KINDS: readonly BalancerKind[] = ["peak-ewma", "round-robin", "weighted-round-robin", "least-request", "hash"];
export const DEFAULT_BALANCER: BalancerKind = "peak-ewma";

export interface BalancerOptions {
  /** Uniform in [0, 1): the runtime's random port in the engine, a seeded PRNG in tests. */
  random: () => number;
  /** Monotonic ms at creation (starts the EWMA clocks). Default 0. */
  now?: number;
  /** For "peak-ewma". */
  ewma?: PeakEwmaOptions;
  /** For "hash". */
  maglev?: MaglevOptions;
}

export function createBalancer<E extends BalancerEndpoint>(
  kind: BalancerKind | undefined,
  endpoints: readonly E[],
  opts: BalancerOptions,
): Balancer<E> {
  switch (kind ?? DEFAULT_BALANCER) {
    case "peak-ewma":
      return new PeakEwmaBalancer(endpoints, opts.random, opts.now ?? 0, opts.ewma);
    case "round-robin":
      return new RoundRobinBalancer(endpoints, opts.random);
    case "weighted-round-robin":
      return new WeightedRoundRobinBalancer(endpoints);
    case "least-request":
      return new LeastRequestBalancer(endpoints, opts.random, opts.now ?? 0);
    case "hash":
      return new MaglevBalancer(endpoints, opts.random, opts.maglev);
  }
  throw new RangeError(`unknown balancer kind: ${String(kind)}`);
}
