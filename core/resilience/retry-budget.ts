// A retry budget in the style of Finagle's and tower's TpsBudget (which Linkerd uses): every original request
// deposits `retryRatio` of a retry, every retry withdraws one, and a reserve of `minRetriesPerSec · ttl` retries
// is always on top. Deposits and withdrawals live in time buckets and expire after the TTL, so the budget allows
// about `retryRatio · requests + minRetriesPerSec` retries per second (Linkerd: "minRetriesPerSecond is an
// allowance in addition to retryRatio"). A deposit made at time t expires when the bucket holding t leaves the
// window: after between ttl − ttl/buckets and ttl.
// Pure: the caller passes `now` (ms, monotonic). State survives `reconfigure`.

export interface RetryBudgetOptions {
  /** Retries allowed per original request, in [0, 1000]. */
  readonly retryRatio: number;
  /** Retries allowed per second with no traffic at all. */
  readonly minRetriesPerSec: number;
  /** How long a deposit counts, in ms. */
  readonly ttlMs: number;
  /** How many buckets the TTL is split into (the expiry granularity). */
  readonly buckets: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { retryRatio: 0.2, minRetriesPerSec: 10, ttlMs: 10_000, buckets: 10 };

/** Amounts are in milli-retries, integers, so sums of ratios like 0.2 stay exact. */
const UNIT = 1000;

export class RetryBudget {
  private opts!: RetryBudgetOptions;
  private width!: number; // ms per bucket
  private deposit!: number; // milli-retries per request
  private reserve!: number; // milli-retries
  private counts!: number[]; // ring, indexed by absolute bucket number mod length
  private head = Number.NEGATIVE_INFINITY; // absolute number of the newest bucket

  constructor(opts: Partial<RetryBudgetOptions> = {}) {
    this.apply({ ...DEFAULT_RETRY_BUDGET, ...opts });
    this.counts = new Array<number>(this.opts.buckets).fill(0);
  }

  get options(): RetryBudgetOptions {
    return this.opts;
  }

  /** Records one original request (not a retry). */
  onRequest(now: number): void {
    this.bucket(now, this.deposit);
  }

  /** Takes one retry from the budget if there is one. */
  tryWithdraw(now: number): boolean {
    if (this.balance(now) < UNIT) return false;
    this.bucket(now, -UNIT);
    return true;
  }

  /** Retries available now (may be fractional), for metrics. */
  available(now: number): number {
    return Math.max(0, this.balance(now)) / UNIT;
  }

  /**
   * Changes the parameters and keeps what was deposited and withdrawn: the same requests keep counting until
   * they expire under the new TTL (a shorter TTL expires older entries at once).
   */
  reconfigure(opts: Partial<RetryBudgetOptions>): void {
    const oldWidth = this.width;
    const oldCounts = this.counts;
    const oldHead = this.head;
    this.apply({ ...this.opts, ...opts });
    this.counts = new Array<number>(this.opts.buckets).fill(0);
    if (oldHead === Number.NEGATIVE_INFINITY) return;
    // Re-bucket by absolute time: old bucket i covered [i·w, (i+1)·w).
    this.head = Math.floor((oldHead * oldWidth) / this.width);
    const n = oldCounts.length;
    for (let i = oldHead - n + 1; i <= oldHead; i++) {
      const c = oldCounts[mod(i, n)]!;
      if (c === 0) continue;
      const j = Math.floor((i * oldWidth) / this.width);
      if (j > this.head - this.counts.length) this.counts[mod(j, this.counts.length)]! += c;
    }
  }

  private apply(o: RetryBudgetOptions): void {
    if (!(o.retryRatio >= 0 && o.retryRatio <= 1000)) throw new RangeError(`retryRatio ${o.retryRatio} not in [0, 1000]`);
    if (!(o.minRetriesPerSec >= 0)) throw new RangeError(`minRetriesPerSec ${o.minRetriesPerSec} < 0`);
    if (!(o.ttlMs >= 1 && o.ttlMs <= 60 * 60_000)) throw new RangeError(`ttlMs ${o.ttlMs} not in [1, 3600000]`);
    if (!(Number.isInteger(o.buckets) && o.buckets >= 1 && o.buckets <= 1000)) throw new RangeError(`buckets ${o.buckets}`);
    this.opts = { ...o };
    this.width = o.ttlMs / o.buckets;
    this.deposit = Math.round(o.retryRatio * UNIT);
    this.reserve = Math.round(o.minRetriesPerSec * (o.ttlMs / 1000) * UNIT);
  }

  /** Moves the window to `now`, then adds `amount` to the newest bucket. */
  private bucket(now: number, amount: number): void {
    this.advance(now);
    this.counts[mod(this.head, this.counts.length)]! += amount;
  }

  private balance(now: number): number {
    this.advance(now);
    let sum = this.reserve;
    for (const c of this.counts) sum += c;
    return sum;
  }

  private advance(now: number): void {
    const b = Math.floor(now / this.width);
    if (b <= this.head) return; // same bucket, or time went back: keep counting in the newest bucket
    const n = this.counts.length;
    if (b - this.head >= n) this.counts.fill(0);
    else for (let i = this.head + 1; i <= b; i++) this.counts[mod(i, n)] = 0;
    this.head = b;
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}
