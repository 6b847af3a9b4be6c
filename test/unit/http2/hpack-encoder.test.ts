// HPACK encoder: representation policy, sensitive fields, size updates, and seeded round trips with the decoder.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HpackDecoder } from "../../../core/http2/hpack/decoder.ts";
import { HpackEncoder } from "../../../core/http2/hpack/encoder.ts";
import type { DynamicTable } from "../../../core/http2/hpack/dynamic-table.ts";
import { decodeInteger } from "../../../core/http2/hpack/integer.ts";
import { mulberry32 } from "../../support/prng.ts";

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function entries(t: DynamicTable): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < t.length; i++) out.push([t.name(i), t.value(i)]);
  return out;
}

/** The first octet of each field representation in a block (size updates included), with raw strings. */
function kinds(block: Uint8Array): number[] {
  const out: number[] = [];
  const cur = { pos: 0 };
  const skipString = () => {
    const n = decodeInteger(block, cur, 7);
    cur.pos += n;
  };
  while (cur.pos < block.length) {
    const b = block[cur.pos]!;
    out.push(b);
    if (b & 0x80) decodeInteger(block, cur, 7);
    else if (b & 0x40) {
      if (decodeInteger(block, cur, 6) === 0) skipString();
      skipString();
    } else if (b & 0x20) decodeInteger(block, cur, 5);
    else {
      if (decodeInteger(block, cur, 4) === 0) skipString();
      skipString();
    }
  }
  return out;
}

const INDEXED = 0x80;
const INCREMENTAL = 0x40;
const NEVER = 0x10;
const WITHOUT = 0x00;
/** The representation type of a first octet. */
function kind(b: number): number {
  return b & 0x80 ? INDEXED : b & 0x40 ? INCREMENTAL : b & 0x20 ? 0x20 : b & 0xf0;
}

describe("sensitive fields are never indexed", () => {
  const cases: [string, string][] = [
    ["authorization", "Bearer abc.def.ghi"],
    ["proxy-authorization", "Basic dXNlcjpwYXNz"],
    ["set-cookie", "sid=0123456789abcdef0123456789; Path=/; HttpOnly"],
    ["cookie", "sid=short"],
  ];
  for (const [name, value] of cases) {
    test(name, () => {
      const enc = new HpackEncoder();
      const dec = new HpackDecoder();
      for (let i = 0; i < 3; i++) {
        const block = enc.encode([name, value]);
        assert.equal(block[0]! & 0xf0, NEVER, `0001xxxx prefix, got ${toHex(block)}`);
        assert.deepEqual(dec.decode(block), [name, value]);
      }
      assert.equal(enc.tableSize, 0);
      assert.equal(dec.tableSize, 0);
    });
  }

  test("the never-indexed literal uses the static name index", () => {
    // authorization is static entry 23: 0001 1111 then 23 - 15 = 8.
    const block = new HpackEncoder({ huffman: "never" }).encode(["authorization", "x"]);
    assert.equal(toHex(block), "1f08" + "0178");
  });

  test("a long cookie is worth indexing", () => {
    const enc = new HpackEncoder();
    const cookie = "session=" + "0123456789".repeat(4);
    assert.equal(kind(enc.encode(["cookie", cookie])[0]!), INCREMENTAL);
    assert.deepEqual(kinds(enc.encode(["cookie", cookie])), [0xbe]);
  });
});

describe("representation policy", () => {
  const fields: { name: string; field: [string, string]; first: number; second: number }[] = [
    { name: "static full match", field: [":method", "GET"], first: INDEXED, second: INDEXED },
    { name: "static name, new value", field: ["user-agent", "grpc-node/1.9"], first: INCREMENTAL, second: INDEXED },
    { name: "new name", field: ["x-tenant", "blue"], first: INCREMENTAL, second: INDEXED },
    { name: "short :path", field: [":path", "/api/v1/items"], first: INCREMENTAL, second: INDEXED },
    { name: ":path with a query", field: [":path", "/search?q=1"], first: WITHOUT, second: WITHOUT },
    { name: "long :path", field: [":path", "/" + "p".repeat(80)], first: WITHOUT, second: WITHOUT },
    { name: "content-length", field: ["content-length", "1234"], first: WITHOUT, second: WITHOUT },
    { name: "date", field: ["date", "Mon, 21 Oct 2013 20:13:21 GMT"], first: WITHOUT, second: WITHOUT },
    { name: "etag", field: ["etag", '"abc"'], first: WITHOUT, second: WITHOUT },
    { name: "last-modified", field: ["last-modified", "Mon, 21 Oct 2013 20:13:21 GMT"], first: WITHOUT, second: WITHOUT },
    { name: "if-modified-since", field: ["if-modified-since", "Mon, 21 Oct 2013"], first: WITHOUT, second: WITHOUT },
    { name: "entry above 3/4 of the table", field: ["x-big", "v".repeat(3100)], first: WITHOUT, second: WITHOUT },
  ];
  for (const f of fields) {
    test(f.name, () => {
      const enc = new HpackEncoder();
      const dec = new HpackDecoder();
      const a = enc.encode(f.field);
      const b = enc.encode(f.field);
      assert.equal(kind(a[0]!), f.first, `first: ${toHex(a.subarray(0, 4))}`);
      assert.equal(kind(b[0]!), f.second, `second: ${toHex(b.subarray(0, 4))}`);
      assert.deepEqual(dec.decode(a), f.field);
      assert.deepEqual(dec.decode(b), f.field);
    });
  }

  test("a name already in the dynamic table is referenced by index", () => {
    const enc = new HpackEncoder({ huffman: "never" });
    enc.encode(["x-tenant", "blue"]);
    // Literal with indexing, name = dynamic entry 62, value "red".
    assert.equal(toHex(enc.encode(["x-tenant", "red"])), "7e03726564");
    // Now "red" is 62 and "blue" 63.
    assert.equal(toHex(enc.encode(["x-tenant", "blue", "x-tenant", "red"])), "bfbe");
  });

  test("Huffman auto picks the shorter form, never and always are obeyed", () => {
    const v = "no-cache";
    assert.equal(toHex(new HpackEncoder().encode(["cache-control", v])), "5886a8eb10649cbf");
    assert.equal(toHex(new HpackEncoder({ huffman: "never" }).encode(["cache-control", v])), "58086e6f2d6361636865");
    // "307" is 3 octets either way: auto keeps it raw, always codes it.
    assert.equal(toHex(new HpackEncoder().encode([":status", "307"])), "4803333037");
    assert.equal(toHex(new HpackEncoder({ huffman: "always" }).encode([":status", "307"])), "4883640eff");
    // "x" is 7 bits (not shorter than 1 octet); 0x01 is 23 bits: both stay raw.
    assert.equal(toHex(new HpackEncoder().encode(["x", "\x01"])), "40" + "0178" + "0101");
  });

  test("non-latin1 text is a TypeError", () => {
    assert.throws(() => new HpackEncoder({ huffman: "never" }).encode(["x", "\u0100"]), TypeError);
    assert.throws(() => new HpackEncoder().encode(["x", "\u20ac"]), TypeError);
  });

  test("returned blocks are independent copies", () => {
    const enc = new HpackEncoder();
    const a = enc.encode([":method", "GET"]);
    const b = enc.encode([":method", "POST"]);
    assert.equal(toHex(a), "82");
    assert.equal(toHex(b), "83");
  });

  test("a large block grows the buffer", () => {
    const enc = new HpackEncoder();
    const dec = new HpackDecoder({ maxHeaderListSize: 1 << 22 });
    const h: string[] = [];
    for (let i = 0; i < 200; i++) h.push(`x-h${i}`, "v".repeat(i * 10));
    assert.deepEqual(dec.decode(enc.encode(h)), h);
    assert.deepEqual(dec.decode(enc.encode(h)), h);
  });
});

describe("table size updates from the encoder", () => {
  test("one update at the start of the next block only", () => {
    const enc = new HpackEncoder();
    enc.setMaxTableSize(100);
    assert.deepEqual(kinds(enc.encode([":method", "GET"])), [0x3f, 0x82]);
    assert.deepEqual(kinds(enc.encode([":method", "GET"])), [0x82]);
  });

  test("down then up: the smallest, then the final size", () => {
    const enc = new HpackEncoder();
    enc.encode(["x-a", "1"]);
    assert.equal(enc.tableSize, 36);
    enc.setMaxTableSize(10);
    enc.setMaxTableSize(0);
    enc.setMaxTableSize(4096);
    // 0x20 = update to 0; 3fe11f = update to 4096.
    assert.equal(toHex(enc.encode([":method", "GET"])), "203fe11f82");
    assert.equal(enc.tableSize, 0);
    assert.equal(enc.maxTableSize, 4096);
  });

  test("up then down: only the final size", () => {
    const enc = new HpackEncoder({ preferredTableSize: 65536 });
    enc.setMaxTableSize(8192);
    enc.setMaxTableSize(1000);
    assert.equal(toHex(enc.encode([":method", "GET"])), "3fc90782");
  });

  test("no update when the size does not change", () => {
    const enc = new HpackEncoder();
    enc.setMaxTableSize(4096);
    assert.equal(toHex(enc.encode([":method", "GET"])), "82");
    // Above the preferred size: still 4096, nothing to say.
    enc.setMaxTableSize(1 << 20);
    assert.equal(toHex(enc.encode([":method", "GET"])), "82");
  });

  test("an initial limit above the preferred size is announced in the first block", () => {
    const enc = new HpackEncoder({ maxTableSize: 16384 });
    const dec = new HpackDecoder({ maxTableSize: 16384 });
    assert.equal(toHex(enc.encode([":method", "GET"])), "3fe11f82");
    dec.decode(enc.encode([]));
    assert.equal(enc.maxTableSize, 4096);
  });

  test("table size 0 indexes nothing", () => {
    const enc = new HpackEncoder({ maxTableSize: 0 });
    const dec = new HpackDecoder({ maxTableSize: 0 });
    for (let i = 0; i < 2; i++) {
      const block = enc.encode(["x-a", "1", "user-agent", "u"]);
      assert.deepEqual(kinds(block).map(kind), [WITHOUT, WITHOUT]);
      assert.deepEqual(dec.decode(block), ["x-a", "1", "user-agent", "u"]);
    }
  });
});

describe("seeded round trips", () => {
  const NAMES = [
    ":method", ":scheme", ":path", ":authority", ":status", "content-type", "user-agent", "accept",
    "accept-encoding", "cache-control", "te", "grpc-timeout", "grpc-encoding", "x-request-id", "x-tenant",
    "authorization", "cookie", "set-cookie", "content-length", "date", "etag", "x-b3-traceid", "x-custom-0",
    "x-custom-1", "x-custom-2", "location", "vary", "server",
  ];
  const VALUES = [
    "GET", "POST", "https", "http", "/", "/index.html", "/grpc.health.v1.Health/Check", "200", "404",
    "application/grpc", "trailers", "gzip, deflate", "gzip", "no-cache", "1S", "example.com:443", "",
  ];

  function randomValue(rnd: () => number): string {
    const r = rnd();
    if (r < 0.5) return VALUES[Math.floor(rnd() * VALUES.length)]!;
    const len = r < 0.95 ? Math.floor(rnd() * 40) : Math.floor(rnd() * 1500);
    let s = "";
    if (r < 0.85) {
      const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./?=&:;, ";
      for (let i = 0; i < len; i++) s += alpha[Math.floor(rnd() * alpha.length)];
    } else {
      for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rnd() * 256));
    }
    return s;
  }

  function randomName(rnd: () => number): string {
    if (rnd() < 0.9) return NAMES[Math.floor(rnd() * NAMES.length)]!;
    return "x-rand-" + Math.floor(rnd() * 1000).toString(36);
  }

  const SIZES = [0, 1, 32, 64, 100, 256, 1000, 4096, 8192, 65536];
  const MODES = ["auto", "always", "never"] as const;

  for (let conn = 0; conn < 12; conn++) {
    test(`connection ${conn}`, () => {
      const rnd = mulberry32(1000 + conn);
      const huffman = MODES[conn % 3]!;
      const preferredTableSize = conn % 4 === 3 ? 16384 : undefined;
      const enc = new HpackEncoder({ huffman, preferredTableSize });
      const dec = new HpackDecoder({ maxHeaderListSize: 1 << 22 });
      for (let blk = 0; blk < 300; blk++) {
        if (rnd() < 0.08) {
          // A SETTINGS change (acked before the next block): one to three new limits, e.g. down then up.
          const n = 1 + Math.floor(rnd() * 3);
          for (let k = 0; k < n; k++) {
            const size = SIZES[Math.floor(rnd() * SIZES.length)]!;
            enc.setMaxTableSize(size);
            dec.setMaxTableSize(size);
          }
        }
        const count = Math.floor(rnd() * 20);
        const headers: string[] = [];
        for (let i = 0; i < count; i++) headers.push(randomName(rnd), randomValue(rnd));
        const block = enc.encode(headers);
        assert.deepEqual(dec.decode(block), headers, `block ${blk}`);
        assert.equal(enc.tableSize, dec.tableSize, `block ${blk}: table sizes`);
        assert.equal(enc.maxTableSize, dec.maxTableSize, `block ${blk}: table limits`);
        assert.deepEqual(entries(enc["table"]), entries(dec["table"]), `block ${blk}: table contents`);
      }
    });
  }
});

describe("the cache of encoded literals", () => {
  test("an encoding copied from the cache is the one a fresh encoding gives, slot collisions included", () => {
    // Same length and same first, middle and last chars (the slot's key) with different text; Huffman-coded,
    // raw (no shorter in Huffman) and non-ASCII values; 8..64 chars are cached.
    const values = ["Sat, 28 Nov 2026 00:05:00 GMT", "Sat, 28 Nov 2026 00:05:01 GMT", "Sxt, 28 Nov 2026 00:05:00 GMT", "nginx/1.22.1", "nginx/1.22.2"];
    values.push("\x01\x02\x03\x04\x05\x06\x07\x08\x09", "\u00e9t\u00e9 \u00e0 la plage", "a".repeat(64), "a".repeat(65), "b".repeat(8), "b".repeat(7));
    const list: string[] = [];
    for (const v of values) list.push("x-v", v);
    const noIndex = { represent: () => "no-index" as const };
    const first = new HpackEncoder(noIndex).encode(list);
    for (let round = 0; round < 3; round++) {
      const again = new HpackEncoder(noIndex).encode(list);
      assert.equal(toHex(again), toHex(first));
      assert.deepEqual(new HpackDecoder().decode(again), list);
    }
    // Interleaved with the other modes, which do not use it.
    for (const huffman of ["never", "always"] as const) {
      const out = new HpackEncoder({ ...noIndex, huffman }).encode(list);
      assert.deepEqual(new HpackDecoder().decode(out), list);
    }
    assert.equal(toHex(new HpackEncoder(noIndex).encode(list)), toHex(first));
  });
});
