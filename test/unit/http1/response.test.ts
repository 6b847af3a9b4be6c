// Response parsing: framing by status and request method, fed at every split.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bytes, run, shape, splits, type Expect } from "./helpers.ts";

interface Case {
  name: string;
  methods?: string[];
  input: string;
  /** Call finish() at the end (EOF). */
  finish?: boolean;
  expect: Expect[];
}

const cases: Case[] = [
  {
    name: "200 with Content-Length",
    input: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    expect: [
      { head: { status: 200, reason: "OK", version: 11, bodyKind: "length", contentLength: 2, keepAlive: true } },
      { body: "hi" },
      { end: null },
    ],
  },
  {
    name: "empty reason, with and without the final SP",
    input: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\nHTTP/1.1 204\r\n\r\n",
    methods: ["GET", "GET"],
    expect: [{ head: { status: 200, reason: "" } }, { end: null }, { head: { status: 204, reason: "" } }, { end: null }],
  },
  {
    name: "reason with spaces and obs-text",
    input: "HTTP/1.1 404 Not \xc0 Found\r\nContent-Length: 0\r\n\r\n",
    expect: [{ head: { status: 404, reason: "Not \xc0 Found" } }, { end: null }],
  },
  {
    name: "chunked with trailers",
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    expect: [{ head: { bodyKind: "chunked" } }, { body: "abc" }, { end: ["X-T", "1"] }],
  },
  {
    name: "no framing: read until close",
    input: "HTTP/1.1 200 OK\r\n\r\nall of this until EOF",
    finish: true,
    expect: [{ head: { bodyKind: "close", keepAlive: false } }, { body: "all of this until EOF" }, { end: null }],
  },
  {
    name: "HEAD response has no body despite Content-Length",
    methods: ["HEAD", "GET"],
    input: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    expect: [
      { head: { bodyKind: "none", contentLength: 10 } }, { end: null },
      { head: { bodyKind: "length", contentLength: 1 } }, { body: "x" }, { end: null },
    ],
  },
  {
    name: "HEAD response with chunked has no body",
    methods: ["HEAD"],
    input: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: [{ head: { bodyKind: "none" } }, { end: null }],
  },
  {
    name: "204 and 304 have no body",
    methods: ["GET", "GET"],
    input: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
    expect: [{ head: { status: 204, bodyKind: "none" } }, { end: null }, { head: { status: 304, bodyKind: "none" } }, { end: null }],
  },
  {
    name: "1xx heads are reported without onEnd, then the final response",
    input:
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nz",
    expect: [
      { head: { status: 100, bodyKind: "none" } },
      { head: { status: 103, headers: ["Link", "</s.css>"] } },
      { head: { status: 201, bodyKind: "length" } },
      { body: "z" },
      { end: null },
    ],
  },
  {
    name: "1xx to a HEAD request keeps the HEAD for the final response",
    methods: ["HEAD"],
    input: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    expect: [{ head: { status: 100 } }, { head: { status: 200, bodyKind: "none" } }, { end: null }],
  },
  {
    name: "101 Switching Protocols",
    input: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    expect: [{ head: { status: 101, bodyKind: "none", upgrade: "websocket" } }, { end: null }],
  },
  {
    name: "HTTP/1.0 response defaults to close; keep-alive honoured with a length",
    methods: ["GET", "GET"],
    input: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    expect: [{ head: { version: 10, keepAlive: false } }, { end: null }, { head: { version: 10, keepAlive: true } }, { end: null }],
  },
  {
    name: "Connection: close on HTTP/1.1",
    input: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    expect: [{ head: { keepAlive: false } }, { end: null }],
  },
  {
    name: "non-2xx to CONNECT has a normal body",
    methods: ["CONNECT"],
    input: "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\nno!",
    expect: [{ head: { status: 407, bodyKind: "length" } }, { body: "no!" }, { end: null }],
  },
];

describe("ResponseParser at every split", () => {
  for (const c of cases) {
    test(c.name, () => {
      for (const s of splits(c.input)) {
        const ev = run("res", s.chunks, { methods: c.methods, finish: c.finish });
        assert.deepEqual(shape(ev, c.expect), c.expect, `${c.name} (${s.name})`);
      }
    });
  }
});

describe("ResponseParser EOF", () => {
  test("EOF mid-body of a length-framed response -> TRUNCATED 502", () => {
    const ev = run("res", [bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")], { finish: true });
    assert.deepEqual(ev.map((e) => e.t), ["head", "body", "error"]);
    assert.deepEqual(ev[2], { t: "error", code: "TRUNCATED", status: 502 });
  });
  test("EOF mid-head -> TRUNCATED", () => {
    assert.deepEqual(run("res", [bytes("HTTP/1.1 200 OK\r\n")], { finish: true }), [{ t: "error", code: "TRUNCATED", status: 502 }]);
  });
  test("EOF after a 1xx without a final response -> TRUNCATED", () => {
    const ev = run("res", [bytes("HTTP/1.1 100 Continue\r\n\r\n")], { finish: true });
    assert.deepEqual(ev.map((e) => e.t), ["head", "error"]);
  });
  test("EOF in a chunked body -> TRUNCATED", () => {
    const ev = run("res", [bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")], { finish: true });
    assert.deepEqual(ev[ev.length - 1], { t: "error", code: "TRUNCATED", status: 502 });
  });
  test("EOF between responses -> nothing", () => {
    const ev = run("res", [bytes("HTTP/1.1 204 No Content\r\n\r\n")], { finish: true });
    assert.deepEqual(ev.map((e) => e.t), ["head", "end"]);
  });
  test("close-delimited body of zero bytes", () => {
    const ev = run("res", [bytes("HTTP/1.1 200 OK\r\n\r\n")], { finish: true });
    assert.deepEqual(ev.map((e) => e.t), ["head", "end"]);
  });
});
