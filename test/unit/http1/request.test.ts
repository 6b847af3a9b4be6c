// Request parsing: valid messages, fed whole, byte by byte and at every 2-way split.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RequestParser } from "../../../core/http1/parser.ts";
import { run, shape, splits, type Expect } from "./helpers.ts";

interface Case {
  name: string;
  input: string;
  expect: Expect[];
}

const cases: Case[] = [
  {
    name: "simple GET, HTTP/1.1 defaults",
    input: "GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n",
    expect: [
      {
        head: {
          method: "GET", target: "/a?b=c", version: 11, headers: ["Host", "x"], bodyKind: "none",
          contentLength: 0, keepAlive: true, upgrade: null, expectContinue: false,
        },
      },
      { end: null },
    ],
  },
  {
    name: "header names keep case, values trimmed of OWS, latin1 kept",
    input: "GET / HTTP/1.1\r\nX-Foo:  a b \t\r\nx-EMPTY:\r\nX-Lat: caf\xe9\r\n\r\n",
    expect: [{ head: { headers: ["X-Foo", "a b", "x-EMPTY", "", "X-Lat", "caf\xe9"] } }, { end: null }],
  },
  {
    name: "Content-Length body",
    input: "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
    expect: [{ head: { bodyKind: "length", contentLength: 11 } }, { body: "hello world" }, { end: null }],
  },
  {
    name: "Content-Length: 0",
    input: "POST /u HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
    expect: [{ head: { bodyKind: "length", contentLength: 0 } }, { end: null }],
  },
  {
    name: "identical duplicate Content-Length (lines and list)",
    input: "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc",
    expect: [{ head: { bodyKind: "length", contentLength: 3 } }, { body: "abc" }, { end: null }],
  },
  {
    name: "chunked with extensions and trailers",
    input:
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n" +
      "6 ; a=\"q\\\"s\" ; b\r\n world\r\n" +
      "A\r\n0123456789\r\n" +
      "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
    expect: [
      { head: { bodyKind: "chunked" } },
      { body: "hello world0123456789" },
      { end: ["X-Checksum", "abc", "X-Other", "1"] },
    ],
  },
  {
    name: "chunked without trailers, uppercase coding, hex size with leading zeros",
    input: "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0003\r\nabc\r\n000\r\n\r\n",
    expect: [{ head: { bodyKind: "chunked" } }, { body: "abc" }, { end: null }],
  },
  {
    name: "HTTP/1.0 defaults to close",
    input: "GET / HTTP/1.0\r\n\r\n",
    expect: [{ head: { version: 10, keepAlive: false } }, { end: null }],
  },
  {
    name: "HTTP/1.0 with Connection: keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    expect: [{ head: { version: 10, keepAlive: true } }, { end: null }],
  },
  {
    name: "HTTP/1.0 keep-alive and close: close wins",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    expect: [{ head: { keepAlive: false } }, { end: null }],
  },
  {
    name: "HTTP/1.1 Connection: close in a list, case-insensitive",
    input: "GET / HTTP/1.1\r\nConnection: foo\r\nConnection: x, CLOSE\r\n\r\n",
    expect: [{ head: { keepAlive: false } }, { end: null }],
  },
  {
    name: "Expect: 100-continue",
    input: "PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
    expect: [{ head: { expectContinue: true, bodyKind: "length" } }, { body: "x" }, { end: null }],
  },
  {
    name: "Expect ignored in HTTP/1.0",
    input: "GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
    expect: [{ head: { expectContinue: false } }, { end: null }],
  },
  {
    name: "WebSocket upgrade",
    input: "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
    expect: [{ head: { upgrade: "websocket", bodyKind: "none" } }, { end: null }],
  },
  {
    name: "Upgrade header without Connection: upgrade is not an upgrade",
    input: "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
    expect: [{ head: { upgrade: null } }, { end: null }],
  },
  {
    name: "CONNECT authority-form",
    input: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    expect: [{ head: { method: "CONNECT", target: "example.com:443", bodyKind: "none" } }, { end: null }],
  },
  {
    name: "absolute-form target",
    input: "GET http://web.default:8080/p?q HTTP/1.1\r\nHost: web.default:8080\r\n\r\n",
    expect: [{ head: { target: "http://web.default:8080/p?q" } }, { end: null }],
  },
  {
    name: "OPTIONS *",
    input: "OPTIONS * HTTP/1.1\r\n\r\n",
    expect: [{ head: { method: "OPTIONS", target: "*" } }, { end: null }],
  },
  {
    name: "any token method",
    input: "M-SEARCH! / HTTP/1.1\r\n\r\n",
    expect: [{ head: { method: "M-SEARCH!" } }, { end: null }],
  },
  {
    name: "leading empty lines before the request line are ignored",
    input: "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    expect: [{ head: { method: "GET" } }, { end: null }],
  },
  {
    name: "HTTP/1.0 with chunked: allowed but not keep-alive",
    input: "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
    expect: [{ head: { bodyKind: "chunked", keepAlive: false } }, { body: "a" }, { end: null }],
  },
  {
    name: "Transfer-Encoding with empty list elements",
    input: "POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
    expect: [{ head: { bodyKind: "chunked" } }, { end: null }],
  },
  {
    name: "pipelined: three requests in one buffer",
    input:
      "GET /1 HTTP/1.1\r\n\r\n" +
      "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" +
      "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\ncd\r\n0\r\n\r\n",
    expect: [
      { head: { target: "/1" } }, { end: null },
      { head: { target: "/2" } }, { body: "ab" }, { end: null },
      { head: { target: "/3" } }, { body: "cd" }, { end: null },
    ],
  },
];

describe("RequestParser: valid requests at every split", () => {
  for (const c of cases) {
    test(c.name, () => {
      for (const s of splits(c.input)) {
        const ev = run("req", s.chunks, { finish: true });
        assert.deepEqual(shape(ev, c.expect), c.expect, `${c.name} (${s.name})`);
      }
    });
  }
});

describe("RequestParser: body streaming", () => {
  test("onBody gets views of the input chunk, not copies", () => {
    const input = new TextEncoder().encode("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
    const seen: Uint8Array[] = [];
    const p = new RequestParser({
      onHead() {},
      onBody(b: Uint8Array) {
        seen.push(b);
      },
      onEnd() {},
      onError(e: Error) {
        throw e;
      },
    });
    p.execute(input);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.buffer, input.buffer);
    assert.equal(seen[0]!.byteOffset, input.length - 5);
  });

  test("a large Content-Length body arrives in pieces without buffering", () => {
    const head = "PUT / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
    let total = 0;
    let pieces = 0;
    let ended = false;
    const p = new RequestParser({
      onHead() {},
      onBody(b: Uint8Array) {
        total += b.length;
        pieces++;
      },
      onEnd() {
        ended = true;
      },
      onError(e: Error) {
        throw e;
      },
    });
    p.execute(new TextEncoder().encode(head));
    const block = new Uint8Array(65536);
    for (let sent = 0; sent < 1000000; sent += block.length) p.execute(block.subarray(0, Math.min(block.length, 1000000 - sent)));
    assert.equal(total, 1000000);
    assert.equal(pieces, 16);
    assert.equal(ended, true);
  });
});

