import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LoadShed } from "../../../core/resilience/load-shed.ts";

describe("LoadShed", () => {
  it("admits up to maxPending, sheds past it, and admits again after a release", () => {
    const s = new LoadShed(2);
    assert.equal(s.tryAcquire(), true);
    assert.equal(s.tryAcquire(), true);
    assert.equal(s.tryAcquire(), false);
    assert.equal(s.pending, 2);
    assert.equal(s.shed, 1);
    s.release();
    assert.equal(s.tryAcquire(), true);
    assert.equal(s.tryAcquire(), false);
    assert.equal(s.shed, 2);
  });

  it("ignores unmatched releases", () => {
    const s = new LoadShed(1);
    s.release();
    assert.equal(s.pending, 0);
    assert.equal(s.tryAcquire(), true);
    assert.equal(s.tryAcquire(), false);
  });

  it("a lower bound keeps requests in flight and sheds new ones until they drain", () => {
    const s = new LoadShed(3);
    s.tryAcquire(); s.tryAcquire(); s.tryAcquire();
    s.setMaxPending(1);
    assert.equal(s.pending, 3);
    assert.equal(s.tryAcquire(), false);
    s.release(); s.release();
    assert.equal(s.tryAcquire(), false);
    s.release();
    assert.equal(s.tryAcquire(), true);
  });

  it("0 sheds everything; Infinity nothing; bad bounds throw", () => {
    assert.equal(new LoadShed(0).tryAcquire(), false);
    const inf = new LoadShed(Infinity);
    for (let i = 0; i < 1000; i++) assert.equal(inf.tryAcquire(), true);
    assert.throws(() => new LoadShed(-1), RangeError);
    assert.throws(() => new LoadShed(1.5), RangeError);
  });
});
