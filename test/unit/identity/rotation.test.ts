// Certificate renewal timing: 70 % of the lifetime, clamped to [10 s, 24 h] from now; expiry edges.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MAX_RENEWAL_DELAY_MS,
  MIN_RENEWAL_DELAY_MS,
  isExpired,
  isNotYetValid,
  renewalDelayMs,
} from "../../../core/identity/rotation.ts";

const S = 1000, H = 3600 * S, D = 24 * H;
const T0 = Date.UTC(2025, 0, 1);

describe("renewalDelayMs", () => {
  it("waits until 70 % of the lifetime", () => {
    // A 24 h certificate issued now: renew after 16.8 h.
    assert.equal(renewalDelayMs(T0, T0 + D, T0), 60_480_000);
    // Halfway through: 20 % of the lifetime is left before the renewal point.
    assert.equal(renewalDelayMs(T0, T0 + 10 * H, T0 + 5 * H), 2 * H);
    // A 100 s certificate: at 70 s.
    assert.equal(renewalDelayMs(T0, T0 + 100 * S, T0), 70 * S);
  });

  const rows: [string, number, number, number, number][] = [
    // [what, notBefore, notAfter, now, expected]
    ["exactly 10 s before the renewal point", T0, T0 + 100 * S, T0 + 60 * S, 10 * S],
    ["just under 10 s before it: the 10 s minimum", T0, T0 + 100 * S, T0 + 60 * S + 1, MIN_RENEWAL_DELAY_MS],
    ["at the renewal point", T0, T0 + 100 * S, T0 + 70 * S, MIN_RENEWAL_DELAY_MS],
    ["past it", T0, T0 + 100 * S, T0 + 90 * S, MIN_RENEWAL_DELAY_MS],
    ["already expired", T0, T0 + D, T0 + 2 * D, MIN_RENEWAL_DELAY_MS],
    ["a very short lifetime (5 s)", T0, T0 + 5 * S, T0, MIN_RENEWAL_DELAY_MS],
    ["a 90-day certificate: at most 24 h", T0, T0 + 90 * D, T0, MAX_RENEWAL_DELAY_MS],
    ["a target exactly 24 h away", T0, T0 + (D * 10) / 7, T0, D],
    ["a target 24 h + 1 ms away", T0, T0 + 10 * (D + 1), T0 - 7 * D, MAX_RENEWAL_DELAY_MS],
    ["not yet valid: counted from notBefore", T0 + H, T0 + H + 100 * S, T0, H + 70 * S],
    ["zero lifetime, notBefore now", T0, T0, T0, MIN_RENEWAL_DELAY_MS],
    ["negative lifetime", T0, T0 - D, T0, MIN_RENEWAL_DELAY_MS],
    ["a fractional target is rounded up", T0, T0 + 15, T0 - 20_000, 20_011],
    ["a fractional now", T0, T0 + 100 * S, T0 + 0.25, 70 * S],
    ["NaN", Number.NaN, T0, T0, MIN_RENEWAL_DELAY_MS],
    ["an infinite notAfter", T0, Number.POSITIVE_INFINITY, T0, MAX_RENEWAL_DELAY_MS],
  ];
  for (const [what, nb, na, now, want] of rows) {
    it(what, () => assert.equal(renewalDelayMs(nb, na, now), want));
  }

  it("is always a whole number of ms in [10 s, 24 h]", () => {
    for (let i = 0; i < 1000; i++) {
      const nb = T0 + ((i * 7919) % 100_000) * 37;
      const na = nb + ((i * 104729) % 1_000_000) * 13 - 1000;
      const now = T0 + ((i * 15485863) % 10_000_000);
      const delay = renewalDelayMs(nb, na, now);
      assert.ok(Number.isInteger(delay) && delay >= MIN_RENEWAL_DELAY_MS && delay <= MAX_RENEWAL_DELAY_MS, `${nb} ${na} ${now}: ${delay}`);
    }
  });
});

describe("isExpired and isNotYetValid", () => {
  it("the validity period includes notBefore and notAfter (RFC 5280 §4.1.2.5)", () => {
    assert.equal(isExpired(T0, T0 - 1), false);
    assert.equal(isExpired(T0, T0), false);
    assert.equal(isExpired(T0, T0 + 1), true);
    assert.equal(isNotYetValid(T0, T0 - 1), true);
    assert.equal(isNotYetValid(T0, T0), false);
    assert.equal(isNotYetValid(T0, T0 + 1), false);
  });
});
