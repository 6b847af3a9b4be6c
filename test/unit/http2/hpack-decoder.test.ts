// HPACK decoder: every error code, size update rules, and the HPACK bomb.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HpackDecoder } from "../../../core/http2/hpack/decoder.ts";
import { HpackError } from "../../../core/http2/hpack/errors.ts";
import { encodeInteger } from "../../../core/http2/hpack/integer.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const isCode = (code: string) => (e: unknown) => e instanceof HpackError && e.code === code;

/** A prefix integer as bytes. */
function int(value: number, prefixBits: number, flags: number): number[] {
  const b = new Uint8Array(8);
  return [...b.subarray(0, encodeInteger(b, 0, value, prefixBits, flags))];
}
/** A raw (non-Huffman) string literal. */
function str(s: string): number[] {
  return [...int(s.length, 7, 0), ...Array.from(s, (c) => c.charCodeAt(0))];
}
const sizeUpdate = (n: number) => int(n, 5, 0x20);

describe("decoder errors", () => {
  const cases: { name: string; block: number[]; code: string; opts?: { maxTableSize?: number; maxHeaderListSize?: number } }[] = [
    { name: "indexed field with index 0", block: [0x80], code: "BAD_INDEX" },
    { name: "indexed field 62 with an empty dynamic table", block: [0xbe], code: "BAD_INDEX" },
    { name: "indexed field far beyond the tables", block: int(100000, 7, 0x80), code: "BAD_INDEX" },
    { name: "indexed name 62 (incremental indexing)", block: [0x7e, ...str("v")], code: "BAD_INDEX" },
    { name: "indexed name 62 (without indexing)", block: [...int(62, 4, 0x00), ...str("v")], code: "BAD_INDEX" },
    { name: "indexed name 62 (never indexed)", block: [...int(62, 4, 0x10), ...str("v")], code: "BAD_INDEX" },
    { name: "index above 2^31-1", block: [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], code: "BAD_INTEGER" },
    { name: "index with 7 continuation bytes", block: [0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], code: "BAD_INTEGER" },
    { name: "string length above 2^31-1", block: [0x41, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x0f], code: "BAD_INTEGER" },
    { name: "Huffman value with zero padding", block: [0x04, 0x81, 0x00], code: "BAD_HUFFMAN" },
    { name: "Huffman value of 8 padding ones", block: [0x04, 0x81, 0xff], code: "BAD_HUFFMAN" },
    { name: "Huffman name holding EOS", block: [0x40, 0x84, 0xff, 0xff, 0xff, 0xff, ...str("v")], code: "BAD_HUFFMAN" },
    { name: "size update after a field", block: [0x82, ...sizeUpdate(0)], code: "TABLE_SIZE_UPDATE" },
    { name: "size update between fields", block: [0x82, ...sizeUpdate(100), 0x84], code: "TABLE_SIZE_UPDATE" },
    { name: "size update above the advertised limit", block: [...sizeUpdate(4097), 0x82], code: "TABLE_SIZE_UPDATE" },
    {
      name: "size update above a smaller advertised limit",
      block: [...sizeUpdate(101)],
      code: "TABLE_SIZE_UPDATE",
      opts: { maxTableSize: 100 },
    },
    { name: "integer cut after its prefix", block: [0xff], code: "TRUNCATED" },
    { name: "integer cut in its continuation", block: [0x82, 0xff, 0x80], code: "TRUNCATED" },
    { name: "literal without its name", block: [0x40], code: "TRUNCATED" },
    { name: "literal name without a value", block: [0x40, ...str("name")], code: "TRUNCATED" },
    { name: "literal value shorter than its length", block: [0x41, 0x05, 0x61, 0x62], code: "TRUNCATED" },
    { name: "Huffman value shorter than its length", block: [0x41, 0x8c, 0xf1, 0xe3], code: "TRUNCATED" },
    { name: "name length past the end", block: [0x00, 0x7f, 0x10], code: "TRUNCATED" },
    {
      name: "header list over the limit",
      block: [0x82, 0x84, 0x86, 0x41, ...str("x".repeat(100))],
      code: "HEADER_LIST_TOO_LARGE",
      opts: { maxHeaderListSize: 150 },
    },
  ];
  for (const c of cases) {
    test(`${c.code}: ${c.name}`, () => {
      assert.throws(() => new HpackDecoder(c.opts).decode(Uint8Array.from(c.block)), isCode(c.code));
    });
  }

  test("errors are HpackError instances with a name and message", () => {
    try {
      new HpackDecoder().decode(Uint8Array.from([0x80]));
      assert.fail("no throw");
    } catch (e) {
      assert.ok(e instanceof HpackError && e instanceof Error);
      assert.equal(e.name, "HpackError");
      assert.match(e.message, /index 0/);
    }
  });
});

describe("decoding", () => {
  test("an empty block is an empty list", () => {
    assert.deepEqual(new HpackDecoder().decode(new Uint8Array(0)), []);
  });

  test("the header list limit counts name + value + 32 and is inclusive", () => {
    // :method GET is 7 + 3 + 32 = 42 octets.
    assert.deepEqual(new HpackDecoder({ maxHeaderListSize: 84 }).decode(hex("8282")), [":method", "GET", ":method", "GET"]);
    assert.throws(() => new HpackDecoder({ maxHeaderListSize: 83 }).decode(hex("8282")), isCode("HEADER_LIST_TOO_LARGE"));
  });

  test("octets 0x80-0xff in raw and Huffman strings come back as latin1 chars", () => {
    const raw = [0x40, ...int(1, 7, 0), 0xe9, ...int(2, 7, 0), 0xff, 0x80];
    assert.deepEqual(new HpackDecoder().decode(Uint8Array.from(raw)), ["\u00e9", "\u00ff\u0080"]);
  });

  test("a block given as a view into a larger buffer", () => {
    const big = hex("ffff 8286 84 ffff");
    assert.deepEqual(new HpackDecoder().decode(big.subarray(2, 5)), [":method", "GET", ":scheme", "http", ":path", "/"]);
  });

  test("long literals (over the fromCharCode chunk) decode whole", () => {
    const v = "abcdefghij".repeat(3000);
    const out = new HpackDecoder({ maxHeaderListSize: 1 << 20 }).decode(Uint8Array.from([0x04, ...str(v)]));
    assert.equal(out[1], v);
  });

  test("a literal larger than the table empties it and is not added", () => {
    const dec = new HpackDecoder({ maxTableSize: 100 });
    dec.decode(Uint8Array.from([0x40, ...str("a"), ...str("b")]));
    assert.equal(dec.tableSize, 34);
    const out = dec.decode(Uint8Array.from([0x40, ...str("big"), ...str("x".repeat(80))]));
    assert.deepEqual(out, ["big", "x".repeat(80)]);
    assert.equal(dec.tableSize, 0);
    assert.throws(() => dec.decode(hex("be")), isCode("BAD_INDEX"));
  });
});

describe("dynamic table size updates", () => {
  test("several updates at the start of a block are applied in order", () => {
    const dec = new HpackDecoder();
    dec.decode(Uint8Array.from([0x40, ...str("a"), ...str("b")]));
    assert.equal(dec.tableSize, 34);
    assert.deepEqual(dec.decode(Uint8Array.from([...sizeUpdate(0), ...sizeUpdate(4096), 0x82])), [":method", "GET"]);
    assert.equal(dec.tableSize, 0, "the update to 0 evicted everything");
    assert.equal(dec.maxTableSize, 4096);
  });

  test("a block of only a size update is fine", () => {
    const dec = new HpackDecoder();
    assert.deepEqual(dec.decode(Uint8Array.from(sizeUpdate(1000))), []);
    assert.equal(dec.maxTableSize, 1000);
  });

  test("after we lower the limit, the next block must bring the table within it", () => {
    const dec = new HpackDecoder();
    dec.setMaxTableSize(100);
    assert.throws(() => dec.decode(hex("82")), isCode("TABLE_SIZE_UPDATE"));
    const dec2 = new HpackDecoder();
    dec2.setMaxTableSize(100);
    assert.deepEqual(dec2.decode(Uint8Array.from([...sizeUpdate(100), 0x82])), [":method", "GET"]);
    assert.deepEqual(dec2.decode(hex("82")), [":method", "GET"]);
  });

  test("raising the limit needs no update, and allows larger ones", () => {
    const dec = new HpackDecoder();
    dec.setMaxTableSize(8192);
    assert.deepEqual(dec.decode(hex("82")), [":method", "GET"]);
    dec.decode(Uint8Array.from([...sizeUpdate(8192), 0x82]));
    assert.equal(dec.maxTableSize, 8192);
  });

  test("an update evicts the oldest entries first", () => {
    const dec = new HpackDecoder();
    dec.decode(Uint8Array.from([0x40, ...str("a"), ...str("1"), 0x40, ...str("b"), ...str("2")]));
    dec.decode(Uint8Array.from([...sizeUpdate(34), 0xbe]));
    assert.equal(dec.tableSize, 34);
    assert.deepEqual(dec.decode(hex("be")), ["b", "2"]);
    assert.throws(() => dec.decode(hex("bf")), isCode("BAD_INDEX"));
  });
});

describe("HPACK bomb", () => {
  // One ~4 KB entry, then 10,000 one-byte references to it: 40 MB if expanded.
  const big = "a".repeat(4096 - 32 - 1);
  const bomb = Uint8Array.from([0x40, ...str("x"), ...str(big), ...new Array(10000).fill(0xbe)]);

  test("is stopped by the header list limit, quickly", () => {
    const dec = new HpackDecoder();
    const t0 = performance.now();
    assert.throws(() => dec.decode(bomb), isCode("HEADER_LIST_TOO_LARGE"));
    const ms = performance.now() - t0;
    assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
    // The table stayed in sync: the entry is there for the next block.
    assert.deepEqual(dec.decode(hex("be")), ["x", big]);
    assert.equal(dec.tableSize, 4096);
  });

  test("fields after the limit still update the table", () => {
    const dec = new HpackDecoder();
    const block = Uint8Array.from([
      ...bomb,
      0x40, ...str("y"), ...str("z"), // indexed after the limit was passed: evicts the big entry
      0x00, ...str("n"), ...str("not indexed"),
    ]);
    assert.throws(() => dec.decode(block), isCode("HEADER_LIST_TOO_LARGE"));
    assert.equal(dec.tableSize, 34);
    assert.deepEqual(dec.decode(hex("be")), ["y", "z"]);
    assert.throws(() => dec.decode(hex("bf")), isCode("BAD_INDEX"));
  });

  test("a list just over the limit is refused whole, and the decoder stays usable", () => {
    const dec = new HpackDecoder({ maxHeaderListSize: 100 });
    // 42 (:method GET) + 73 (k + 40 octets) = 115 octets.
    const block = Uint8Array.from([0x82, 0x40, ...str("k"), ...str("v".repeat(40))]);
    assert.throws(() => dec.decode(block), isCode("HEADER_LIST_TOO_LARGE"));
    assert.deepEqual(dec.decode(hex("be")), ["k", "v".repeat(40)]);
  });
});

describe("a block inside a larger buffer (decode(block, split, start, end))", () => {
  test("decodes block[start, end) only", () => {
    const inner = [0x82, 0x00, ...str("x-a"), ...str("1")];
    const buf = Uint8Array.from([0xff, 0xff, ...inner, 0x84, 0x85]);
    assert.deepEqual(new HpackDecoder().decode(buf, false, 2, 2 + inner.length), [":method", "GET", "x-a", "1"]);
  });

  test("an integer or string cut at `end` is TRUNCATED, whatever follows in the buffer", () => {
    const cases: number[][] = [
      [0xff], // index with a continuation byte due
      [0x00, 0x03, 0x61], // name literal of 3 octets, 1 present
      [0x00, ...str("n"), 0x7f], // value length with a continuation byte due
      [0x00, ...str("n"), 0x05, 0x61, 0x62], // value of 5 octets, 2 present
    ];
    for (const inner of cases) {
      const buf = Uint8Array.from([...inner, 0x80, 0x80, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);
      assert.throws(() => new HpackDecoder().decode(buf, false, 0, inner.length), isCode("TRUNCATED"), JSON.stringify(inner));
    }
  });
});
