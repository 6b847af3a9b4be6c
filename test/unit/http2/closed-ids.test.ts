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

test("agrees with a Map and an eviction queue over random sets, updates and lookups", () => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (const capacity of [1, 2, 7, 64, 1024]) {
    const c = new ClosedIds(capacity);
    const ref = new Map<number, number>();
    const order: number[] = [];
    let nextId = 1;
    for (let op = 0; op < 20_000; op++) {
      const r = rand(10);
      if (r < 6) {
        // Mostly new ids, in rough order (as streams close), sometimes an older one again.
        const id = r < 5 ? (nextId += 1 + rand(3)) : 1 + rand(nextId);
        const reason = 1 + rand(3);
        c.set(id, reason);
        if (ref.has(id)) ref.set(id, reason);
        else {
          if (ref.size >= capacity) ref.delete(order.shift()!);
          ref.set(id, reason);
          order.push(id);
        }
      } else {
        const id = 1 + rand(nextId + 5);
        assert.equal(c.get(id), ref.get(id));
        assert.equal(c.has(id), ref.has(id));
      }
      assert.equal(c.size, ref.size);
    }
    for (const [id, reason] of ref) assert.equal(c.get(id), reason);
  }
});
