import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_RETRY_BUDGET, RetryBudget } from "../../../core/resilience/retry-budget.ts";

/** 100 req/s against a backend that always fails; each request wants up to 3 retries. Returns retries allowed. */
function drive(budget: RetryBudget, seconds: number, rps: number, start = 0): { requests: number; retries: number } {
  let requests = 0, retries = 0;
  const step = 1000 / rps;
  for (let t = start; t < start + seconds * 1000; t += step) {
    budget.onRequest(t);
    requests++;
    for (let k = 0; k < 3 && budget.tryWithdraw(t); k++) retries++;
  }
  return { requests, retries };
}

const within = (actual: number, expected: number, frac: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= expected * frac, `${what}: ${actual} vs ${expected} (±${frac * 100} %)`);

describe("RetryBudget", () => {
  it("defaults to Linkerd's: ratio 0.2, 10 retries/s, TTL 10 s", () => {
    assert.deepEqual(new RetryBudget().options, DEFAULT_RETRY_BUDGET);
    assert.deepEqual(DEFAULT_RETRY_BUDGET, { retryRatio: 0.2, minRetriesPerSec: 10, ttlMs: 10_000, buckets: 10 });
  });

  it("caps retries against a failing backend at 100 req/s for 10 s: 0.2·requests + 10/s·TTL", () => {
    const { requests, retries } = drive(new RetryBudget(), 10, 100);
    assert.equal(requests, 1000);
    within(retries, 0.2 * requests + 10 * 10, 0.03, "retries in 10 s");
  });

  it("holds about 0.2·rps + 10 retries/s over a minute, not growing with the retries themselves", () => {
    const { requests, retries } = drive(new RetryBudget(), 60, 100);
    within(retries, 0.2 * requests + 10 * 60, 0.05, "retries in 60 s");
    // and the ratio alone, with no minimum
    const r = drive(new RetryBudget({ minRetriesPerSec: 0 }), 60, 100);
    within(r.retries, 0.2 * r.requests, 0.03, "ratio only");
  });

  it("honours the minimum retries/s with zero traffic", () => {
    const b = new RetryBudget();
    let retries = 0;
    for (let t = 0; t < 60_000; t += 10) while (b.tryWithdraw(t)) retries++;
    within(retries, 10 * 60, 0.03, "retries with no requests");
    // per second on average, not only a burst at the start
    const late = new RetryBudget();
    for (let t = 0; t < 30_000; t += 10) while (late.tryWithdraw(t)) {}
    let n = 0;
    for (let t = 30_000; t < 50_000; t += 10) while (late.tryWithdraw(t)) n++;
    within(n, 10 * 20, 0.03, "retries from 30 s to 50 s");
  });

  it("expires deposits after the TTL", () => {
    const b = new RetryBudget({ retryRatio: 1, minRetriesPerSec: 0 });
    for (let i = 0; i < 5; i++) b.onRequest(0);
    assert.equal(b.available(0), 5);
    assert.equal(b.available(9_999), 5);
    assert.equal(b.available(10_000), 0);
    assert.equal(b.tryWithdraw(10_000), false);
    // deposits made late in a bucket live at least TTL − TTL/buckets
    b.onRequest(10_999);
    assert.equal(b.available(19_999), 1);
    assert.equal(b.available(20_000), 0);
  });

  it("expires withdrawals too, so spent retries come back after the TTL", () => {
    const b = new RetryBudget({ retryRatio: 0, minRetriesPerSec: 1, ttlMs: 10_000 });
    let n = 0;
    while (b.tryWithdraw(0)) n++;
    assert.equal(n, 10);
    assert.equal(b.tryWithdraw(9_999), false);
    assert.equal(b.available(10_000), 10);
  });

  it("counts in exact milli-retries: five requests at 0.2 buy exactly one retry", () => {
    const b = new RetryBudget({ minRetriesPerSec: 0 });
    for (let i = 0; i < 4; i++) b.onRequest(1);
    assert.equal(b.tryWithdraw(1), false);
    b.onRequest(1);
    assert.equal(b.tryWithdraw(1), true);
    assert.equal(b.tryWithdraw(1), false);
  });

  it("keeps its state across reconfigure", () => {
    const b = new RetryBudget({ minRetriesPerSec: 0 });
    for (let i = 0; i < 50; i++) b.onRequest(1_000); // 10 retries
    b.reconfigure({ retryRatio: 0.5 });
    assert.equal(b.available(1_000), 10, "a new ratio does not revalue past deposits");
    assert.equal(new RetryBudget({ retryRatio: 0.5, minRetriesPerSec: 0 }).available(1_000), 0);
    b.tryWithdraw(1_000);
    b.reconfigure({ minRetriesPerSec: 1 }); // reserve 10 on top
    assert.equal(b.available(1_000), 19);
    b.reconfigure({ minRetriesPerSec: 0, ttlMs: 20_000 }); // a longer TTL keeps the deposits longer
    assert.equal(b.available(15_000), 9);
    assert.equal(b.available(20_999), 0);
  });

  it("a shorter TTL on reconfigure expires older deposits at once", () => {
    const b = new RetryBudget({ retryRatio: 1, minRetriesPerSec: 0 });
    b.onRequest(0);
    b.onRequest(6_000);
    assert.equal(b.available(7_000), 2);
    b.reconfigure({ ttlMs: 5_000 });
    assert.equal(b.available(7_000), 1);
    assert.equal(b.available(10_999), 1); // 6 000 lies in the 500 ms bucket [6 000, 6 500): gone at 11 000
    assert.equal(b.available(11_000), 0);
  });

  it("rejects bad options", () => {
    assert.throws(() => new RetryBudget({ retryRatio: -1 }), RangeError);
    assert.throws(() => new RetryBudget({ ttlMs: 0 }), RangeError);
    assert.throws(() => new RetryBudget().reconfigure({ buckets: 0 }), RangeError);
  });
});
