// HPACK prefix integers: RFC 7541 C.1 and the overflow guard.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeInteger, encodeInteger, MAX_INTEGER } from "../../../core/http2/hpack/integer.ts";
import { HpackError } from "../../../core/http2/hpack/errors.ts";

function enc(value: number, prefixBits: number, flags = 0): number[] {
  const buf = new Uint8Array(8);
  return [...buf.subarray(0, encodeInteger(buf, 0, value, prefixBits, flags))];
}

function dec(bytes: number[], prefixBits: number): { value: number; pos: number } {
  const cur = { pos: 0 };
  const value = decodeInteger(Uint8Array.from(bytes), cur, prefixBits);
  return { value, pos: cur.pos };
}

const isCode = (code: string) => (e: unknown) => e instanceof HpackError && e.code === code;

describe("RFC 7541 C.1", () => {
  const cases: { name: string; value: number; prefix: number; bytes: number[] }[] = [
    { name: "C.1.1: 10 with a 5-bit prefix", value: 10, prefix: 5, bytes: [0x0a] },
    { name: "C.1.2: 1337 with a 5-bit prefix", value: 1337, prefix: 5, bytes: [0x1f, 0x9a, 0x0a] },
    { name: "C.1.3: 42 at an octet boundary", value: 42, prefix: 8, bytes: [0x2a] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(enc(c.value, c.prefix), c.bytes);
      assert.deepEqual(dec(c.bytes, c.prefix), { value: c.value, pos: c.bytes.length });
    });
  }
});

describe("prefix integers", () => {
  test("flags above the prefix are kept on encode and ignored on decode", () => {
    assert.deepEqual(enc(10, 5, 0xe0), [0xea]);
    assert.deepEqual(enc(1337, 5, 0x20), [0x3f, 0x9a, 0x0a]);
    assert.deepEqual(dec([0xea], 5).value, 10);
    assert.deepEqual(dec([0x3f, 0x9a, 0x0a], 5).value, 1337);
  });

  test("round trip at the edges of every prefix size", () => {
    for (let prefix = 1; prefix <= 8; prefix++) {
      const max = (1 << prefix) - 1;
      for (const v of [0, 1, max - 1, max, max + 1, max + 127, max + 128, 16383, 2 ** 21, 2 ** 28 + 5, MAX_INTEGER]) {
        const bytes = enc(v, prefix);
        assert.ok(bytes.length <= 6, `${v}/${prefix} fits in 6 bytes`);
        assert.deepEqual(dec(bytes, prefix), { value: v, pos: bytes.length }, `${v} with ${prefix}-bit prefix`);
      }
    }
  });

  test("decoding starts at the cursor and stops after the integer", () => {
    const cur = { pos: 2 };
    assert.equal(decodeInteger(Uint8Array.from([0, 0, 0x1f, 0x9a, 0x0a, 0x55]), cur, 5), 1337);
    assert.equal(cur.pos, 5);
  });

  test("a zero-padded encoding within 6 continuation bytes is accepted", () => {
    assert.deepEqual(dec([0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5), { value: 31, pos: 7 });
  });

  const bad: { name: string; bytes: number[]; prefix: number; code: string }[] = [
    { name: "2^31 is rejected", bytes: enc(2 ** 31, 5), prefix: 5, code: "BAD_INTEGER" },
    { name: "2^32 - 1 is rejected", bytes: enc(2 ** 32 - 1, 7), prefix: 7, code: "BAD_INTEGER" },
    { name: "huge value", bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], prefix: 7, code: "BAD_INTEGER" },
    { name: "7 continuation bytes", bytes: [0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], prefix: 5, code: "BAD_INTEGER" },
    { name: "endless continuation", bytes: [0x1f, ...new Array(20).fill(0x80)], prefix: 5, code: "BAD_INTEGER" },
    { name: "empty input", bytes: [], prefix: 5, code: "TRUNCATED" },
    { name: "prefix full, nothing after", bytes: [0x1f], prefix: 5, code: "TRUNCATED" },
    { name: "ends on a continuation byte", bytes: [0x1f, 0x9a], prefix: 5, code: "TRUNCATED" },
  ];
  for (const c of bad) {
    test(`rejects: ${c.name}`, () => {
      assert.throws(() => dec(c.bytes, c.prefix), isCode(c.code));
    });
  }
});
