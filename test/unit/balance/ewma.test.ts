import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_DECAY_MS, DEFAULT_RTT_MS, Ewma } from "../../../core/balance/ewma.ts";

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

test("Linkerd's constants: default RTT 30 ms, decay 10 s", () => {
  assert.equal(DEFAULT_RTT_MS, 30);
  assert.equal(DEFAULT_DECAY_MS, 10_000);
  const e = new Ewma(0);
  assert.equal(e.get(0), 30);
});

test("reading decays the estimate towards 0 with time since the last update, without changing it", () => {
  const e = new Ewma(1000);
  close(e.get(11_000), 30 * Math.exp(-1)); // one time constant
  close(e.get(11_000), 11.03638323514327);
  close(e.get(21_000), 30 * Math.exp(-2));
  close(e.get(1000), 30); // reads don't mutate
});

test("a higher sample replaces the estimate at once (peak)", () => {
  const e = new Ewma(0);
  e.observe(100, 5);
  assert.equal(e.get(5), 100);
  e.observe(250, 6);
  assert.equal(e.get(6), 250);
});

test("a lower sample decays in exponentially with the time since the last update", () => {
  const e = new Ewma(0);
  e.observe(100, 1000);
  e.observe(10, 6000); // 5 s later: decay = e^-0.5
  const want = 100 * Math.exp(-0.5) + 10 * (1 - Math.exp(-0.5));
  close(e.get(6000), want);
  close(e.get(6000), 64.58775937413701);
  // a low sample at the same instant changes nothing; one 10 s later moves ~63 % of the way
  const f = new Ewma(0);
  f.observe(100, 0);
  f.observe(10, 0);
  assert.equal(f.get(0), 100);
  f.observe(10, 10_000);
  close(f.get(10_000), 100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)));
  close(f.get(10_000), 43.109149705429815);
});

test("repeated low samples converge to the new level", () => {
  const e = new Ewma(0);
  e.observe(500, 0);
  for (let t = 100; t <= 120_000; t += 100) e.observe(20, t);
  assert.ok(Math.abs(e.get(120_000) - 20) < 0.1, String(e.get(120_000)));
});

test("custom options and invalid samples", () => {
  const e = new Ewma(0, { defaultRttMs: 10, decayMs: 1000 });
  close(e.get(100), 10 * Math.exp(-0.1));
  e.observe(Number.NaN, 1);
  e.observe(-5, 1);
  assert.equal(e.get(0), 10);
});
