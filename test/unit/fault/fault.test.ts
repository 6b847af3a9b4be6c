// Fault injection: percentages over seeded decisions, header-triggered faults.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decideFault, FaultInjector, parseHeaderFaults } from "../../../core/fault/fault.ts";
import { mulberry32 } from "../../support/prng.ts";

const N = 20_000;

function rates(inj: FaultInjector, seed: number) {
  const rnd = mulberry32(seed);
  let delays = 0;
  let aborts = 0;
  let both = 0;
  for (let i = 0; i < N; i++) {
    const d = inj.decide(rnd);
    if (d.delayMs !== undefined) delays++;
    if (d.abortStatus !== undefined) aborts++;
    if (d.delayMs !== undefined && d.abortStatus !== undefined) both++;
  }
  return { delay: delays / N, abort: aborts / N, both: both / N };
}

describe("route faults", () => {
  for (const [dp, ap] of [[10, 5], [50, 0], [0, 100], [2.5, 33.3]] as const) {
    test(`delay ${dp} %, abort ${ap} % over ${N} seeded decisions within ±1 %`, () => {
      const r = rates(new FaultInjector({ delay: { durationMs: 100, percentage: dp }, abort: { httpStatus: 503, percentage: ap } }), 12345);
      assert.ok(Math.abs(r.delay - dp / 100) <= 0.01, `delay ${r.delay}`);
      assert.ok(Math.abs(r.abort - ap / 100) <= 0.01, `abort ${r.abort}`);
      assert.ok(Math.abs(r.both - (dp / 100) * (ap / 100)) <= 0.01, `independent: ${r.both}`);
    });
  }
  test("values carried through", () => {
    const inj = new FaultInjector({ delay: { durationMs: 250, percentage: 100 }, abort: { httpStatus: 418, percentage: 100 } });
    assert.deepEqual(inj.decide(() => 0.5), { delayMs: 250, abortStatus: 418 });
  });
  test("no policy: nothing", () => {
    assert.deepEqual(new FaultInjector({}).decide(() => 0), {});
  });
  test("each decision draws exactly twice", () => {
    let calls = 0;
    new FaultInjector({ delay: { durationMs: 1, percentage: 50 } }).decide(() => (calls++, 0.9));
    assert.equal(calls, 2);
  });
});

describe("header-triggered faults", () => {
  const on = { enabled: true };
  test("off by default: headers ignored", () => {
    assert.deepEqual(decideFault(undefined, () => 0, ["x-meshlet-fault-delay", "100ms", "x-meshlet-fault-abort", "503"]), { ok: true, fault: {} });
    assert.deepEqual(parseHeaderFaults(["x-meshlet-fault-abort", "bogus"], { enabled: false }), { ok: true, fault: {} });
  });
  test("enabled: parsed", () => {
    assert.deepEqual(parseHeaderFaults(["X-Meshlet-Fault-Delay", "100ms", "x-meshlet-fault-abort", "503"], on), {
      ok: true,
      fault: { delayMs: 100, abortStatus: 503 },
    });
    assert.deepEqual(parseHeaderFaults(["x-meshlet-fault-delay", "2s"], on), { ok: true, fault: { delayMs: 2000 } });
    assert.deepEqual(parseHeaderFaults(["x-meshlet-fault-delay", "0ms"], on), { ok: true, fault: { delayMs: 0 } });
    assert.deepEqual(parseHeaderFaults([], on), { ok: true, fault: {} });
  });
  const badDelays = ["100", "100 ms", " 100ms", "-1ms", "1.5s", "01ms", "ms", "100MS", "1e3ms", "61s", "100ms,200ms", ""];
  for (const v of badDelays) {
    test(`malformed delay ${JSON.stringify(v)} rejected`, () => {
      const r = parseHeaderFaults(["x-meshlet-fault-delay", v], on);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, "BAD_FAULT_DELAY");
    });
  }
  const badAborts = ["abc", "50", "5030", "199", "600", "503 ", "+503", "0503", "503.0", ""];
  for (const v of badAborts) {
    test(`malformed abort ${JSON.stringify(v)} rejected`, () => {
      const r = parseHeaderFaults(["x-meshlet-fault-abort", v], on);
      assert.equal(!r.ok && r.code, "BAD_FAULT_ABORT");
    });
  }
  test("a repeated header is malformed", () => {
    assert.equal(parseHeaderFaults(["x-meshlet-fault-abort", "503", "x-meshlet-fault-abort", "503"], on).ok, false);
  });
  test("custom names and max delay", () => {
    const opts = { enabled: true, delayHeader: "X-Delay", abortHeader: "x-abort", maxDelayMs: 500 };
    assert.deepEqual(parseHeaderFaults(["x-delay", "500ms", "X-Abort", "502"], opts), { ok: true, fault: { delayMs: 500, abortStatus: 502 } });
    assert.equal(parseHeaderFaults(["x-delay", "501ms"], opts).ok, false);
  });
  test("header faults take the place of the route's decision of the same kind", () => {
    const inj = new FaultInjector({ delay: { durationMs: 10, percentage: 100 }, abort: { httpStatus: 500, percentage: 100 } });
    assert.deepEqual(decideFault(inj, () => 0, ["x-meshlet-fault-abort", "503"], on), { ok: true, fault: { delayMs: 10, abortStatus: 503 } });
    assert.deepEqual(decideFault(inj, () => 0, [], on), { ok: true, fault: { delayMs: 10, abortStatus: 500 } });
  });
});
