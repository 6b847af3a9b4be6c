// Failure accrual per endpoint (Linkerd's consecutive-failures breaker). After `maxFailures` consecutive failures
// the endpoint is ejected ("open") for a backoff; after the backoff one probe request may go ("half-open"); a
// probe success readmits it and resets the backoff, a probe failure ejects it again with the next backoff.
// Backoff n (0-based) is Linkerd's exp-backoff: base = min(max, min·2^n), plus jitter up to base·jitter,
// never past max. Pure: `now` (ms) is an argument, randomness a constructor parameter.

import type { Random } from "./backoff.ts";

export type BreakerState = "closed" | "open" | "half-open";

export interface FailureAccrualOptions {
  readonly maxFailures: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Extra random delay as a fraction of the base backoff, in [0, 100]. */
  readonly jitter: number;
}

export const DEFAULT_FAILURE_ACCRUAL: FailureAccrualOptions = {
  maxFailures: 7,
  minBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  jitter: 0.5,
};

/** Linkerd's backoff: in [base, min(max, base·(1 + jitter))] with base = min(max, min·2^n). */
export function probationBackoff(n: number, o: FailureAccrualOptions, random: Random): number {
  const base = Math.min(o.maxBackoffMs, o.minBackoffMs * 2 ** Math.max(0, n));
  return base + Math.min(o.maxBackoffMs - base, base * o.jitter * random());
}

export class FailureAccrual {
  readonly options: FailureAccrualOptions;
  private current: BreakerState = "closed";
  private failures = 0;
  private ejections = 0; // ejections since the endpoint was last healthy: picks the next backoff
  private until = 0; // while open: when the probe may go

  constructor(private readonly random: Random, opts: Partial<FailureAccrualOptions> = {}) {
    const o = { ...DEFAULT_FAILURE_ACCRUAL, ...opts };
    if (!(Number.isInteger(o.maxFailures) && o.maxFailures >= 1)) throw new RangeError(`maxFailures ${o.maxFailures}`);
    if (!(o.minBackoffMs >= 0 && o.maxBackoffMs >= o.minBackoffMs)) throw new RangeError("need 0 <= minBackoffMs <= maxBackoffMs");
    if (!(o.jitter >= 0 && o.jitter <= 100)) throw new RangeError(`jitter ${o.jitter}`);
    this.options = o;
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Consecutive failures counted while closed. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** While open: when the probe may be sent (ms); otherwise undefined. */
  get probeAt(): number | undefined {
    return this.current === "open" ? this.until : undefined;
  }

  /** Whether a balancer may pick this endpoint now (closed, or open with the probe due and not yet taken). */
  isAvailable(now: number): boolean {
    return this.current === "closed" || (this.current === "open" && now >= this.until);
  }

  /** Claims the one probe request: true once the backoff has passed, and then the state is half-open. */
  tryProbe(now: number): boolean {
    if (this.current !== "open" || now < this.until) return false;
    this.current = "half-open";
    return true;
  }

  /** Claims a request slot: any request while closed, or the probe. */
  tryAcquire(now: number): boolean {
    return this.current === "closed" || this.tryProbe(now);
  }

  /** The probe request was cancelled without an answer (the client left): the next request may probe again. */
  cancelProbe(now: number): void {
    if (this.current !== "half-open") return;
    this.current = "open";
    this.until = now;
  }

  onSuccess(_now: number): void {
    if (this.current === "open") return; // a late answer to a request sent before the ejection
    this.current = "closed";
    this.failures = 0;
    this.ejections = 0;
  }

  /** Returns true when this failure ejected the endpoint. */
  onFailure(now: number): boolean {
    switch (this.current) {
      case "open":
        return false;
      case "half-open":
        this.eject(now);
        return true;
      case "closed":
        if (++this.failures < this.options.maxFailures) return false;
        this.eject(now);
        return true;
    }
  }

  private eject(now: number): void {
    this.until = now + probationBackoff(this.ejections, this.options, this.random);
    this.ejections++;
    this.failures = 0;
    this.current = "open";
  }
}
