import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_TABLE_SIZE, isPrime, MaglevBalancer } from "../../../core/balance/hash.ts";
import { xxhash32 } from "../../../core/balance/xxhash32.ts";
import { type Ep, eps, mulberry32 } from "./prng.ts";

const keys = (n: number, prefix = "user-") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const mapping = (b: MaglevBalancer<Ep>, ks: string[]) => ks.map((k) => b.pick({ hashKey: k })!.key);
const changed = (x: string[], y: string[]) => x.filter((v, i) => v !== y[i]).length / x.length;

test("xxhash32 matches the reference vectors", () => {
  assert.equal(xxhash32("", 0), 0x02cc5d05);
  assert.equal(xxhash32("a", 0), 0x550d7456);
  assert.equal(xxhash32("abc", 0), 0x32d153ff);
  assert.equal(xxhash32("Nobody inspects the spammish repetition", 0), 0xe2293b2f);
});

test("Maglev table size is a prime >= 100 x endpoints", () => {
  assert.ok(isPrime(DEFAULT_TABLE_SIZE));
  const b = new MaglevBalancer(eps(10), mulberry32(1));
  assert.equal(b.tableSize, 65537);
  const big = new MaglevBalancer(eps(700), mulberry32(1));
  assert.ok(isPrime(big.tableSize) && big.tableSize >= 70_000, String(big.tableSize));
  assert.throws(() => new MaglevBalancer(eps(2), mulberry32(1), { tableSize: 1000 }), RangeError);
});

test("the same key always maps to the same endpoint, whatever the endpoint order", () => {
  const list = eps(10);
  const b = new MaglevBalancer(list, mulberry32(1));
  const c = new MaglevBalancer([...list].reverse(), mulberry32(2));
  const ks = keys(2000);
  const m1 = mapping(b, ks);
  assert.deepEqual(mapping(b, ks), m1);
  assert.deepEqual(mapping(c, ks), m1);
});

test("distribution over 10k keys is even within a few %", () => {
  const b = new MaglevBalancer(eps(10), mulberry32(1));
  const counts: Record<string, number> = {};
  for (const k of mapping(b, keys(10_000))) counts[k] = (counts[k] ?? 0) + 1;
  assert.equal(Object.keys(counts).length, 10);
  for (const v of Object.values(counts)) assert.ok(Math.abs(v / 10_000 - 0.1) <= 0.01, JSON.stringify(counts));
});

test("removing 1 of 10 endpoints remaps about 10 % of keys; adding one remaps <= 15 %", () => {
  const list = eps(10);
  const ks = keys(10_000, "10.1.");
  const b = new MaglevBalancer(list, mulberry32(1));
  const before = mapping(b, ks);
  b.update(list.filter((_, i) => i !== 4));
  const after = mapping(b, ks);
  const removed = changed(before, after);
  assert.ok(removed <= 0.15 && removed >= 0.08, `removal remapped ${removed}`);
  // every key of the removed endpoint moved; keys elsewhere mostly stayed
  before.forEach((k, i) => {
    if (k === list[4]!.key) assert.notEqual(after[i], k);
  });
  b.update([...list, { key: "10.0.0.11:80" }]);
  const added = changed(before, mapping(b, ks));
  assert.ok(added <= 0.15, `adding remapped ${added}`);
});

test("weights are honoured in the table and in key shares", () => {
  const list: Ep[] = [{ key: "a", weight: 1 }, { key: "b", weight: 2 }, { key: "c", weight: 3 }, { key: "d", weight: 4 }];
  const b = new MaglevBalancer(list, mulberry32(1));
  const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
  for (const k of mapping(b, keys(20_000))) counts[k]!++;
  for (const e of list) assert.ok(Math.abs(counts[e.key]! / 20_000 - e.weight! / 10) < 0.015, JSON.stringify(counts));
});

test("without a key, hash picks a random (weighted) slot; empty set picks nothing", () => {
  const b = new MaglevBalancer(eps(3), mulberry32(1));
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(b.pick()!.key);
  assert.equal(seen.size, 3);
  b.update([]);
  assert.equal(b.pick({ hashKey: "x" }), undefined);
  assert.equal(b.size, 0);
});
