import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FAILURE_ACCRUAL, FailureAccrual, probationBackoff } from "../../../core/resilience/failure-accrual.ts";
import { mulberry32 } from "../../support/prng.ts";

const ZERO = () => 0;

describe("FailureAccrual", () => {
  it("defaults to Linkerd's: 7 failures, 1 s..60 s, jitter 0.5", () => {
    assert.deepEqual(DEFAULT_FAILURE_ACCRUAL, { maxFailures: 7, minBackoffMs: 1_000, maxBackoffMs: 60_000, jitter: 0.5 });
  });

  it("ejects at exactly the 7th consecutive failure", () => {
    const b = new FailureAccrual(ZERO);
    for (let i = 1; i <= 6; i++) {
      assert.equal(b.onFailure(i), false);
      assert.equal(b.state, "closed");
      assert.equal(b.isAvailable(i), true);
    }
    assert.equal(b.onFailure(7), true);
    assert.equal(b.state, "open");
    assert.equal(b.isAvailable(7), false);
    assert.equal(b.tryAcquire(7), false);
  });

  it("a success in between resets the count", () => {
    const b = new FailureAccrual(ZERO);
    for (let i = 0; i < 6; i++) b.onFailure(i);
    b.onSuccess(6);
    for (let i = 0; i < 6; i++) assert.equal(b.onFailure(10 + i), false);
    assert.equal(b.state, "closed");
    assert.equal(b.consecutiveFailures, 6);
    assert.equal(b.onFailure(20), true);
  });

  it("allows one probe after the backoff, and readmits on its success", () => {
    const b = new FailureAccrual(ZERO);
    for (let i = 0; i < 7; i++) b.onFailure(0);
    assert.equal(b.probeAt, 1_000);
    assert.equal(b.isAvailable(999), false);
    assert.equal(b.tryProbe(999), false);
    assert.equal(b.isAvailable(1_000), true);
    assert.equal(b.tryProbe(1_000), true);
    assert.equal(b.state, "half-open");
    assert.equal(b.tryProbe(1_001), false, "only one probe");
    assert.equal(b.isAvailable(1_001), false);
    b.onSuccess(1_050);
    assert.equal(b.state, "closed");
    assert.equal(b.isAvailable(1_050), true);
    assert.equal(b.tryAcquire(1_050), true);
  });

  it("ignores late answers while open", () => {
    const b = new FailureAccrual(ZERO);
    for (let i = 0; i < 7; i++) b.onFailure(0);
    b.onSuccess(10);
    assert.equal(b.state, "open");
    assert.equal(b.onFailure(10), false);
    assert.equal(b.probeAt, 1_000);
  });

  it("a failed probe re-ejects with a doubled backoff up to 60 s; readmission resets it", () => {
    const b = new FailureAccrual(ZERO);
    let now = 0;
    for (let i = 0; i < 7; i++) b.onFailure(now);
    const waits: number[] = [];
    for (let k = 0; k < 9; k++) {
      const at = b.probeAt!;
      waits.push(at - now);
      now = at;
      assert.equal(b.tryProbe(now), true);
      assert.equal(b.onFailure(now), true);
      assert.equal(b.state, "open");
    }
    assert.deepEqual(waits, [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    now = b.probeAt!;
    b.tryProbe(now);
    b.onSuccess(now);
    for (let i = 0; i < 7; i++) b.onFailure(now);
    assert.equal(b.probeAt! - now, 1_000);
  });

  it("jitter keeps backoff n in [base, min(60 s, 1.5·base)] over 10k seeded draws", () => {
    const rnd = mulberry32(1);
    for (let n = 0; n < 9; n++) {
      const base = Math.min(60_000, 1_000 * 2 ** n);
      const hi = Math.min(60_000, base * 1.5);
      let min = Infinity, max = -Infinity;
      for (let i = 0; i < 10_000; i++) {
        const d = probationBackoff(n, DEFAULT_FAILURE_ACCRUAL, rnd);
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      assert.ok(min >= base && max <= hi, `n=${n}: [${min}, ${max}] not in [${base}, ${hi}]`);
      if (hi > base) assert.ok(min < base + (hi - base) * 0.01 && max > hi - (hi - base) * 0.01, `n=${n} spread`);
    }
    // the breaker uses its random source
    const b = new FailureAccrual(() => 0.5);
    for (let i = 0; i < 7; i++) b.onFailure(100);
    assert.equal(b.probeAt, 100 + 1_000 + 250);
  });

  it("rejects bad options", () => {
    assert.throws(() => new FailureAccrual(ZERO, { maxFailures: 0 }), RangeError);
    assert.throws(() => new FailureAccrual(ZERO, { minBackoffMs: 5, maxBackoffMs: 1 }), RangeError);
  });
});
