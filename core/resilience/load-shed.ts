// Load shedding: at most `maxPending` requests in flight per service; past that the proxy answers 503 with
// `x-meshlet-error: load-shed` instead of queueing. Pure counter; the caller pairs each acquire with one release.

export class LoadShed {
  private pendingCount = 0;
  private shedCount = 0;

  constructor(private max: number) {
    LoadShed.check(max);
  }

  private static check(max: number): void {
    if (!(Number.isInteger(max) && max >= 0) && max !== Number.POSITIVE_INFINITY) throw new RangeError(`maxPending ${max}`);
  }

  tryAcquire(): boolean {
    if (this.pendingCount >= this.max) {
      this.shedCount++;
      return false;
    }
    this.pendingCount++;
    return true;
  }

  /** Ends one acquired request. An unmatched release is ignored, so a bug cannot open extra slots. */
  release(): void {
    if (this.pendingCount > 0) this.pendingCount--;
  }

  /** Changes the bound and keeps the requests in flight (a lower bound sheds new ones until they finish). */
  setMaxPending(max: number): void {
    LoadShed.check(max);
    this.max = max;
  }

  get maxPending(): number {
    return this.max;
  }

  get pending(): number {
    return this.pendingCount;
  }

  /** Requests refused so far. */
  get shed(): number {
    return this.shedCount;
  }
}
