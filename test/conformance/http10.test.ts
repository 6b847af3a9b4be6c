// HTTP/1.0 clients: no chunked framing towards them; the connection closes unless kept alive.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`http/1.0 [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("curl --http1.0", async () => {
    const r = await h.curl(["--http1.0", "-H", "Host: web", `http://127.0.0.1:${f.proxy.outbound}/ten`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body.toString()).url, "/ten");
  });

  t("a chunked upstream response reaches an HTTP/1.0 client unchunked, then the connection closes", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET /bytes/5000?chunked HTTP/1.0\r\nHost: web\r\n\r\n");
      await c.waitClose(5000);
      const p = h.parseResponse(c.buf, "GET", true);
      assert.ok(p, `no complete response: ${c.buf.subarray(0, 300).toString("latin1")}`);
      assert.equal(p.res.status, 200);
      assert.ok(!/chunked/i.test(h.header(p.res, "transfer-encoding") ?? ""), `chunked sent to an HTTP/1.0 client:\n${p.res.head}`);
      assert.equal(p.res.body.length, 5000);
      assert.equal(h.sha256(p.res.body), h.patternSha256(5000));
    } finally {
      c.destroy();
    }
  });

  t("HTTP/1.0 without Host is still routable when an absolute-form target names the service", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET http://web/ten-abs HTTP/1.0\r\n\r\n");
      await c.waitClose(5000);
      const p = h.parseResponse(c.buf, "GET", true);
      assert.ok(p, `no complete response: ${c.buf.toString("latin1")}`);
      assert.equal(p.res.status, 200, p.res.head);
      assert.match(JSON.parse(p.res.body.toString()).url, /\/ten-abs$/);
    } finally {
      c.destroy();
    }
  });

  t("HTTP/1.0 with Connection: keep-alive and a content-length response", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET /ka10 HTTP/1.0\r\nHost: web\r\nConnection: keep-alive\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body.toString()).url, "/ka10");
    } finally {
      c.destroy();
    }
  });
});
