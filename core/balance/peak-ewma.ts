// P2C over PeakEWMA (Linkerd's default balancer): load = RTT estimate x (in-flight + 1), divided by weight.
// The RTT is the latency to the first response byte, reported by the engine in onEnd.

import { Ewma, type EwmaOptions } from "./ewma.ts";
import { type InFlight, P2c } from "./p2c.ts";
import type { BalancerEndpoint, Outcome } from "./types.ts";

export interface PeakEwmaOptions extends EwmaOptions {
  /**
   * When set, a failed request is observed as at least this RTT (ms), so an endpoint that fails fast does not
   * attract traffic. Default: off (Linkerd's behaviour: a failure's RTT counts like any other; ejecting
   * failing endpoints is the circuit breaker's job).
   */
  failurePenaltyMs?: number;
}

interface EwmaState extends InFlight {
  rtt: Ewma;
}

export class PeakEwmaBalancer<E extends BalancerEndpoint> extends P2c<E, EwmaState> {
  readonly kind = "peak-ewma" as const;
  private readonly opts: PeakEwmaOptions;

  constructor(endpoints: readonly E[], random: () => number, now = 0, opts: PeakEwmaOptions = {}) {
    super([], random, now);
    this.opts = opts;
    this.update(endpoints);
  }

  protected newState(_e: E, now: number): EwmaState {
    return { inflight: 0, rtt: new Ewma(now, this.opts) };
  }

  protected load(s: EwmaState, now: number): number {
    return s.rtt.get(now) * (s.inflight + 1);
  }

  protected override learn(s: EwmaState, now: number, outcome: Outcome): void {
    let rtt = outcome.rttMs;
    const penalty = this.opts.failurePenaltyMs;
    if (!outcome.ok && penalty !== undefined) rtt = Math.max(rtt ?? 0, penalty);
    if (rtt !== undefined) s.rtt.observe(rtt, now);
  }

  /** The RTT estimate of an endpoint at `now` (for metrics and tests). */
  rttEstimate(e: E, now: number): number | undefined {
    return this.state.get(e.key)?.rtt.get(now);
  }
}
