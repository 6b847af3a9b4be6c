// Serializer output, validation, and round trips through the parsers.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  CRLF,
  encodeChunkHeader,
  encodeLastChunk,
  encodeRequestHead,
  encodeResponseHead,
} from "../../../core/http1/serialize.ts";
import { run, str, type Ev } from "./helpers.ts";

const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("serializer output", () => {
  test("request head", () => {
    assert.equal(
      str(encodeRequestHead("GET", "/a?b", ["Host", "x", "X-E", ""])),
      "GET /a?b HTTP/1.1\r\nHost: x\r\nX-E: \r\n\r\n",
    );
  });
  test("response head, 1.1 and 1.0, empty reason, latin1 value", () => {
    assert.equal(str(encodeResponseHead(200, "OK", ["A", "caf\xe9"])), "HTTP/1.1 200 OK\r\nA: caf\xe9\r\n\r\n");
    assert.equal(str(encodeResponseHead(204, "", [], 10)), "HTTP/1.0 204 \r\n\r\n");
  });
  test("chunk framing", () => {
    for (const [n, s] of [[0, "0\r\n"], [1, "1\r\n"], [255, "ff\r\n"], [65536, "10000\r\n"], [2 ** 40, "10000000000\r\n"]] as const) {
      assert.equal(str(encodeChunkHeader(n)), s);
      assert.equal(str(encodeChunkHeader(n)), s); // cached path
    }
    assert.equal(str(CRLF), "\r\n");
    assert.equal(str(encodeLastChunk(null)), "0\r\n\r\n");
    assert.equal(str(encodeLastChunk([])), "0\r\n\r\n");
    assert.equal(str(encodeLastChunk(["X-T", "1"])), "0\r\nX-T: 1\r\n\r\n");
    assert.throws(() => encodeChunkHeader(-1), RangeError);
  });
  const bad: [string, () => unknown][] = [
    ["CRLF in a value", () => encodeRequestHead("GET", "/", ["X", "a\r\nInjected: 1"])],
    ["LF in a value", () => encodeResponseHead(200, "OK", ["X", "a\nb"])],
    ["NUL in a value", () => encodeResponseHead(200, "OK", ["X", "a\0"])],
    ["non-latin1 value", () => encodeResponseHead(200, "OK", ["X", "\u20ac"])],
    ["space in a name", () => encodeRequestHead("GET", "/", ["X Y", "1"])],
    ["colon in a name", () => encodeRequestHead("GET", "/", ["X:", "1"])],
    ["empty name", () => encodeRequestHead("GET", "/", ["", "1"])],
    ["odd header list", () => encodeRequestHead("GET", "/", ["X"])],
    ["space in target", () => encodeRequestHead("GET", "/a b", [])],
    ["CRLF in reason", () => encodeResponseHead(200, "OK\r\nX: 1", [])],
    ["bad method", () => encodeRequestHead("G T", "/", [])],
    ["bad status", () => encodeResponseHead(42, "", [])],
  ];
  for (const [name, fn] of bad) test(`rejects ${name}`, () => assert.throws(fn, TypeError));
});

describe("round trip through the parser", () => {
  const heads: [string, string, string[]][] = [
    ["GET", "/", ["Host", "a"]],
    ["POST", "http://h:1/p?q=1", ["Host", "h:1", "X-Many", "a, b", "x-case", "KeEp"]],
    ["OPTIONS", "*", []],
    ["CONNECT", "h:443", ["Host", "h:443"]],
  ];
  for (const [method, target, headers] of heads) {
    test(`${method} ${target}`, () => {
      const ev = run("req", [encodeRequestHead(method, target, headers)]);
      assert.equal(ev[0]?.t, "head");
      const h = (ev[0] as Extract<Ev, { t: "head" }>).head as { method: string; target: string; headers: string[] };
      assert.deepEqual([h.method, h.target, h.headers], [method, target, headers]);
    });
  }

  test("chunked request body with trailers", () => {
    const msg = cat(
      encodeRequestHead("PUT", "/up", ["Transfer-Encoding", "chunked"]),
      encodeChunkHeader(3), enc("abc"), CRLF,
      encodeChunkHeader(300), new Uint8Array(300).fill(0x7a), CRLF,
      encodeLastChunk(["X-Sum", "42"]),
    );
    const ev = run("req", [msg]);
    assert.deepEqual(ev.map((e) => e.t), ["head", "body", "end"]);
    assert.equal((ev[1] as { data: string }).data, "abc" + "z".repeat(300));
    assert.deepEqual((ev[2] as { trailers: unknown }).trailers, ["X-Sum", "42"]);
  });

  test("responses: length, chunked, 1.0", () => {
    const msg = cat(
      encodeResponseHead(200, "OK", ["Content-Length", "2"]), enc("hi"),
      encodeResponseHead(200, "OK", ["Transfer-Encoding", "chunked"]), encodeChunkHeader(1), enc("x"), CRLF, encodeLastChunk(null),
      encodeResponseHead(404, "Not Found", ["Content-Length", "0"], 10),
    );
    const ev = run("res", [msg], { methods: ["GET", "GET", "GET"] });
    assert.deepEqual(
      ev.map((e) => (e.t === "head" ? `${(e.head as { status: number }).status}/${e.head.version}` : e.t === "body" ? e.data : e.t)),
      ["200/11", "hi", "end", "200/11", "x", "end", "404/10", "end"],
    );
  });
});
