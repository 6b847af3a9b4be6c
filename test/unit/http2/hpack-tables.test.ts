// HPACK static table (Appendix A) and the dynamic table's ring buffer, accounting and encoder index.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  STATIC_BY_NAME,
  STATIC_NAMES,
  STATIC_TABLE_LENGTH,
  STATIC_VALUES,
} from "../../../core/http2/hpack/static-table.ts";
import { DynamicTable } from "../../../core/http2/hpack/dynamic-table.ts";

describe("static table", () => {
  test("61 entries with the RFC's indices", () => {
    assert.equal(STATIC_TABLE_LENGTH, 61);
    assert.equal(STATIC_NAMES.length, 62);
    const known: [number, string, string][] = [
      [1, ":authority", ""], [2, ":method", "GET"], [3, ":method", "POST"], [4, ":path", "/"],
      [5, ":path", "/index.html"], [7, ":scheme", "https"], [8, ":status", "200"], [14, ":status", "500"],
      [16, "accept-encoding", "gzip, deflate"], [19, "accept", ""], [23, "authorization", ""],
      [24, "cache-control", ""], [28, "content-length", ""], [32, "cookie", ""], [33, "date", ""],
      [37, "from", ""], [38, "host", ""], [46, "location", ""], [55, "set-cookie", ""], [58, "user-agent", ""],
      [61, "www-authenticate", ""],
    ];
    for (const [i, n, v] of known) assert.deepEqual([STATIC_NAMES[i], STATIC_VALUES[i]], [n, v], `index ${i}`);
    for (let i = 1; i <= 61; i++) assert.equal(STATIC_NAMES[i], STATIC_NAMES[i]!.toLowerCase());
  });

  test("lookup maps: lowest index per name, every value", () => {
    assert.equal(STATIC_BY_NAME.get(":status")!.index, 8);
    assert.equal(STATIC_BY_NAME.get(":status")!.values.get("404"), 13);
    assert.equal(STATIC_BY_NAME.get(":method")!.values.get("PUT"), undefined);
    assert.equal(STATIC_BY_NAME.get("accept-encoding")!.values.get("gzip, deflate"), 16);
    assert.equal(STATIC_BY_NAME.get(":authority")!.values.get(""), 1);
    assert.equal(STATIC_BY_NAME.get("x-unknown"), undefined);
    let n = 0;
    for (const e of STATIC_BY_NAME.values()) n += e.values.size;
    assert.equal(n, 61);
  });
});

function entries(t: DynamicTable): string[] {
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) out.push(`${t.name(i)}=${t.value(i)}`);
  return out;
}

describe("dynamic table", () => {
  test("newest first, size = name + value + 32, oldest evicted first", () => {
    const t = new DynamicTable(100);
    t.add("a", "1"); // 34
    t.add("bb", "22"); // 36
    assert.deepEqual(entries(t), ["bb=22", "a=1"]);
    assert.equal(t.size, 70);
    t.add("c", "333"); // 36: evicts a=1
    assert.deepEqual(entries(t), ["c=333", "bb=22"]);
    assert.equal(t.size, 72);
  });

  test("an entry exactly the table size fits; one octet more empties the table", () => {
    const t = new DynamicTable(40);
    t.add("a", "1234567");
    assert.equal(t.size, 40);
    t.add("b", "12345678");
    assert.equal(t.length, 0);
    assert.equal(t.size, 0);
  });

  test("resize evicts down to the new limit", () => {
    const t = new DynamicTable(4096);
    for (let i = 0; i < 10; i++) t.add("k", String(i)); // 34 each
    t.setMaxSize(100);
    assert.deepEqual(entries(t), ["k=9", "k=8"]);
    t.setMaxSize(0);
    assert.equal(t.length, 0);
    t.setMaxSize(4096);
    t.add("z", "z");
    assert.deepEqual(entries(t), ["z=z"]);
  });

  test("the ring buffer grows and wraps without losing order", () => {
    const t = new DynamicTable(34 * 50);
    for (let i = 0; i < 1000; i++) {
      t.add("n", String(i % 10));
      const expect = Math.min(i + 1, 50);
      assert.equal(t.length, expect);
      assert.equal(t.value(0), String(i % 10));
      assert.equal(t.value(expect - 1), String((i - expect + 1) % 10));
    }
  });

  test("the encoder index follows insertions and evictions, newest duplicate wins", () => {
    const t = new DynamicTable(34 * 3, true);
    t.add("a", "1");
    t.add("b", "1");
    t.add("a", "1"); // duplicate: the newer one is found
    assert.equal(t.findPair("a", "1"), 0);
    assert.equal(t.findPair("b", "1"), 1);
    assert.equal(t.findName("a"), 0);
    t.add("c", "1"); // evicts the older a=1: the newer stays indexed
    assert.equal(t.findPair("a", "1"), 1);
    t.add("d", "1"); // evicts b
    assert.equal(t.findPair("b", "1"), -1);
    assert.equal(t.findName("b"), -1);
    t.add("a", "2"); // evicts the last a=1
    assert.equal(t.findPair("a", "1"), -1);
    assert.equal(t.findName("a"), 0);
    assert.equal(t.findPair("a", "2"), 0);
    t.setMaxSize(0);
    assert.equal(t.findName("a"), -1);
    assert.equal(t.findName("c"), -1);
  });
});
