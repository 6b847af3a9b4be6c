// Requests that enable smuggling or exceed limits get a clear error response, then the connection closes.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

interface Case {
  name: string;
  request: string | Buffer;
  status: number[];
  /** the head was valid, the body is not: the head may already have been streamed to the upstream */
  bodyError?: boolean;
}

const H = "Host: web\r\n";
const cases: Case[] = [
  { name: "Content-Length with Transfer-Encoding", request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: [400] },
  { name: "Transfer-Encoding then Content-Length", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, status: [400] },
  { name: "differing duplicate Content-Length", request: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, status: [400] },
  { name: "non-numeric Content-Length", request: `POST / HTTP/1.1\r\n${H}Content-Length: 5x\r\n\r\nhello`, status: [400] },
  { name: "negative Content-Length", request: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, status: [400] },
  { name: "invalid chunk size", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, status: [400], bodyError: true },
  { name: "chunk size overflow", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`, status: [400], bodyError: true },
  { name: "Transfer-Encoding not ending in chunked", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, status: [400, 501] },
  { name: "unknown Transfer-Encoding", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, status: [400, 501] },
  { name: "obs-fold continuation line", request: `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n  b\r\n\r\n`, status: [400] },
  { name: "whitespace before the colon", request: `GET / HTTP/1.1\r\n${H}X-Space : a\r\n\r\n`, status: [400] },
  { name: "whitespace before the colon in Transfer-Encoding", request: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc`, status: [400] },
  { name: "NUL in a field value", request: `GET / HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n`, status: [400] },
  { name: "bare CR in a field value", request: `GET / HTTP/1.1\r\n${H}X-Cr: a\rb\r\n\r\n`, status: [400] },
  { name: "control character in a field value", request: `GET / HTTP/1.1\r\n${H}X-Ctl: a\x01b\r\n\r\n`, status: [400] },
  { name: "header section over 64 KiB (one header)", request: `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`, status: [431] },
  {
    name: "header section over 64 KiB (many headers)",
    request: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 1700 }, (_, i) => `X-H${i}: ${"v".repeat(32)}\r\n`).join("")}\r\n`,
    status: [431],
  },
  { name: "request line too long", request: `GET /${"a".repeat(70 * 1024)} HTTP/1.1\r\n${H}\r\n`, status: [414] },
];

describe(`malformed requests [${h.runtime}]`, { timeout: 90_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("control: a well-formed request on the same kind of connection gets 200", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send(`POST /ok HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`);
      const r = await c.readResponse();
      assert.equal(r.status, 200);
    } finally {
      c.destroy();
    }
  });

  for (const tc of cases) {
    t(`${tc.name} -> ${tc.status.join("/")} and close`, async () => {
      const before = f.up.requests.length;
      const c = await h.RawConn.open(f.proxy.outbound);
      try {
        c.send(tc.request);
        await c.waitClose(5000).catch((e: Error) => {
          throw new Error(`the connection was not closed after the rejection: ${e.message}`);
        });
        assert.ok(c.buf.length > 0, `no response before the close (error: ${c.error?.message ?? "none"}); the proxy should answer, then close without resetting`);
        const p = h.parseResponse(c.buf, "GET", true);
        assert.ok(p, `incomplete response: ${JSON.stringify(c.buf.toString("latin1").slice(0, 300))}`);
        assert.ok(tc.status.includes(p.res.status), `expected ${tc.status.join("/")}, got ${p.res.status}:\n${p.res.head}`);
        assert.equal(c.buf.length, p.consumed, `bytes after the error response: ${JSON.stringify(c.buf.subarray(p.consumed, p.consumed + 200).toString("latin1"))}`);
        await h.sleep(50);
        if (!tc.bodyError) assert.equal(f.up.requests.length, before, `the upstream received the malformed request: ${JSON.stringify(f.up.requests.at(-1))}`);
      } finally {
        c.destroy();
      }
    });
  }

  t("a second request pipelined after a smuggling attempt never reaches the upstream", async () => {
    const before = f.up.requests.length;
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send(`POST /first HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n${H}\r\n`);
      await c.waitClose(5000);
      const p = h.parseResponse(c.buf, "GET", true);
      assert.ok(p);
      assert.equal(p.res.status, 400);
      await h.sleep(100);
      assert.deepEqual(f.up.requests.slice(before).map((r) => r.url), []);
    } finally {
      c.destroy();
    }
  });
});
