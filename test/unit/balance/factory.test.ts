import assert from "node:assert/strict";
import { test } from "node:test";
import { BALANCER_KINDS, createBalancer } from "../../../core/balance/factory.ts";
import type { BalancerKind } from "../../../core/balance/types.ts";
import { eps, mulberry32 } from "./prng.ts";

test("createBalancer builds every kind behind one interface; peak-ewma is the default", () => {
  assert.equal(createBalancer(undefined, eps(3), { random: mulberry32(1) }).kind, "peak-ewma");
  for (const kind of BALANCER_KINDS) {
    const b = createBalancer(kind, eps(3), { random: mulberry32(1) });
    assert.equal(b.kind, kind);
    assert.equal(b.size, 3);
    const e = b.pick({ now: 1, hashKey: "k" })!;
    assert.ok(e.key.startsWith("10.0.0."));
    b.onStart(e, 1);
    b.onEnd(e, 2, { ok: true, rttMs: 1 });
    b.update(eps(2));
    assert.equal(b.endpoints().length, 2);
    b.update([]);
    assert.equal(b.pick({ now: 3 }), undefined);
  }
  assert.throws(() => createBalancer("nope" as BalancerKind, eps(1), { random: mulberry32(1) }), RangeError);
});

test("duplicate keys collapse to one endpoint", () => {
  const b = createBalancer("round-robin", [{ key: "a" }, { key: "a", weight: 2 }, { key: "b" }], { random: () => 0 });
  assert.deepEqual(b.endpoints(), [{ key: "a", weight: 2 }, { key: "b" }]);
});
