// Exponential backoff with full jitter (AWS style): a retry waits a uniform time in [0, min(max, base·2^attempt)].
// Pure: the caller passes the random source, so tests can seed it.

export type Random = () => number; // uniform in [0, 1)

export interface BackoffOptions {
  /** The ceiling for attempt 0, in ms. */
  readonly baseMs: number;
  /** The largest ceiling, in ms. */
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 25, maxMs: 250 };

export class FullJitterBackoff {
  readonly baseMs: number;
  readonly maxMs: number;

  constructor(opts: Partial<BackoffOptions> = {}) {
    const baseMs = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
    const maxMs = opts.maxMs ?? DEFAULT_BACKOFF.maxMs;
    if (!(baseMs >= 0) || !(maxMs >= baseMs)) throw new RangeError(`backoff needs 0 <= base (${baseMs}) <= max (${maxMs})`);
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** The upper bound of the delay before retry number `attempt` (0 = the first retry). */
  ceiling(attempt: number): number {
    const n = Math.max(0, Math.floor(attempt));
    // 2^n overflows to Infinity for large n; min() then yields maxMs.
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }

  /** A delay in [0, ceiling(attempt)] ms. */
  delay(attempt: number, random: Random): number {
    return random() * this.ceiling(attempt);
  }
}
