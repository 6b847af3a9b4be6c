// ClosedIds: the most recently closed streams and their reasons, the oldest forgotten first.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ClosedIds } from "../../../core/http2/closed-ids.ts";

test("remembers the last `capacity` ids with their reasons, forgetting the oldest first", () => {
  const c = new ClosedIds(3);
  for (const id of [1, 3, 5]) c.set(id, id * 10);
  assert.equal(c.size, 3);
  assert.equal(c.get(1), 10);
  c.set(7, 70);
  assert.equal(c.has(1), false);
  assert.deepEqual([3, 5, 7].map((id) => c.get(id)), [30, 50, 70]);
  for (let id = 9; id < 9 + 2 * 1000; id += 2) c.set(id, 1);
  assert.equal(c.size, 3);
  assert.deepEqual([2003, 2005, 2007].map((id) => c.has(id)), [true, true, true]);
  assert.equal(c.has(2001), false);
});

test("setting a remembered id again updates its reason without taking a second slot", () => {
  const c = new ClosedIds(2);
  c.set(1, 1);
  c.set(3, 1);
  c.set(1, 2);
  assert.equal(c.get(1), 2);
  assert.equal(c.size, 2);
  c.set(5, 1); // evicts 1, the oldest slot, not 3
  assert.equal(c.has(1), false);
  assert.equal(c.has(3), true);
});
