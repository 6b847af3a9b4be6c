// Local rate limiting: a token bucket (rate per second, burst), and a keyed variant (per client identity or
// address) that keeps at most `maxKeys` buckets, evicting the least recently used. Pure: `now` (ms) is an argument.

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly ratePerSec: number;
  /** Bucket size: the most requests allowed at once. A new bucket starts full. */
  readonly burst: number;
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

const OK: TakeResult = { ok: true };

export class TokenBucket {
  readonly options: TokenBucketOptions;
  private tokens: number;
  private last: number | undefined;

  constructor(opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0 && Number.isFinite(opts.ratePerSec))) throw new RangeError(`ratePerSec ${opts.ratePerSec}`);
    if (!(opts.burst >= 1 && Number.isFinite(opts.burst))) throw new RangeError(`burst ${opts.burst} < 1`);
    this.options = { ...opts };
    this.tokens = opts.burst;
  }

  /** Tokens in the bucket at `now`. */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Whether the bucket is full at `now` (an idle bucket, the same as a fresh one). */
  isFull(now: number): boolean {
    return this.available(now) >= this.options.burst;
  }

  /** Takes `cost` tokens, or says how long until they are there (ms, > 0). */
  tryTake(now: number, cost = 1): TakeResult {
    this.refill(now);
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return OK;
    }
    if (cost > this.options.burst) return { ok: false, retryAfterMs: Number.POSITIVE_INFINITY };
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((cost - this.tokens) * 1000) / this.options.ratePerSec)) };
  }

  private refill(now: number): void {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) * this.options.ratePerSec) / 1000);
    }
    if (this.last === undefined || now > this.last) this.last = now; // time going back adds nothing
  }
}

/** The Retry-After header value (whole seconds, at least 1) for a wait in ms. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 1;
}

export interface KeyedRateLimiterOptions extends TokenBucketOptions {
  /** Most keys tracked; the least recently used key is forgotten first (it then starts with a full bucket). */
  readonly maxKeys: number;
}

export class KeyedRateLimiter {
  readonly options: KeyedRateLimiterOptions;
  private readonly buckets = new Map<string, TokenBucket>(); // insertion order = least recently used first
  private evicted = 0;

  constructor(opts: KeyedRateLimiterOptions) {
    if (!(Number.isInteger(opts.maxKeys) && opts.maxKeys >= 1)) throw new RangeError(`maxKeys ${opts.maxKeys}`);
    new TokenBucket(opts); // validates the rate and burst
    this.options = { ...opts };
  }

  tryTake(key: string, now: number, cost = 1): TakeResult {
    let b = this.buckets.get(key);
    if (b) this.buckets.delete(key);
    else {
      b = new TokenBucket(this.options);
      if (this.buckets.size >= this.options.maxKeys) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evicted++;
      }
    }
    this.buckets.set(key, b);
    return b.tryTake(now, cost);
  }

  has(key: string): boolean {
    return this.buckets.has(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Keys forgotten to stay within maxKeys (a metric: non-zero means clients got fresh buckets early). */
  get evictions(): number {
    return this.evicted;
  }
}
