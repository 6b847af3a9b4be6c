// Linkerd's PeakEWMA RTT estimator (tower's peak_ewma, Finagle's PeakEwma), as a pure object.
//
// Peak-sensitive: a sample above the estimate replaces it at once; a lower one is blended in with
//   decay = exp(-(now - lastUpdate) / decayMs);  estimate = estimate * decay + sample * (1 - decay)
// so the longer since the last update, the more a low sample counts. Reading decays the estimate towards 0
// (estimate * decay, not stored), so an endpoint nobody has heard from recently looks cheaper and is retried.

/** Linkerd's defaults. */
export const DEFAULT_RTT_MS = 30;
export const DEFAULT_DECAY_MS = 10_000;

export interface EwmaOptions {
  /** The estimate before any sample (ms). Default 30. */
  defaultRttMs?: number;
  /** The decay time constant (ms). Default 10,000. */
  decayMs?: number;
}

export class Ewma {
  private estimate: number;
  private updatedAt: number;
  private readonly decayMs: number;

  constructor(now: number, opts: EwmaOptions = {}) {
    this.estimate = opts.defaultRttMs ?? DEFAULT_RTT_MS;
    this.decayMs = opts.decayMs ?? DEFAULT_DECAY_MS;
    this.updatedAt = now;
  }

  /** Records an RTT sample taken at `now`. */
  observe(rttMs: number, now: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (rttMs > this.estimate) {
      this.estimate = rttMs;
    } else {
      const decay = this.decayFactor(now);
      this.estimate = this.estimate * decay + rttMs * (1 - decay);
    }
    if (now > this.updatedAt) this.updatedAt = now;
  }

  /** The estimate as of `now`, decayed towards 0 since the last sample. */
  get(now: number): number {
    return this.estimate * this.decayFactor(now);
  }

  private decayFactor(now: number): number {
    const elapsed = now - this.updatedAt;
    return elapsed > 0 ? Math.exp(-elapsed / this.decayMs) : 1;
  }
}
