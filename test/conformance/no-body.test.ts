// HEAD, 204 and 304 responses carry no body, and the connection stays in sync afterwards.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`responses without a body [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("HEAD, 204, 304 then GET on one keep-alive connection", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("HEAD /bytes/100 HTTP/1.1\r\nHost: web\r\n\r\n");
      const head = await c.readResponse({ method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(h.header(head, "content-length"), "100", head.head);
      await h.sleep(150);
      assert.equal(c.buf.length, 0, `bytes after a HEAD response: ${JSON.stringify(c.buf.toString("latin1"))}`);

      c.send("GET /status/204 HTTP/1.1\r\nHost: web\r\n\r\n");
      const r204 = await c.readResponse();
      assert.equal(r204.status, 204);
      assert.ok(!/chunked/i.test(h.header(r204, "transfer-encoding") ?? ""), r204.head);
      await h.sleep(150);
      assert.equal(c.buf.length, 0, `bytes after a 204: ${JSON.stringify(c.buf.toString("latin1"))}`);

      c.send("GET /status/304 HTTP/1.1\r\nHost: web\r\nIf-None-Match: \"v1\"\r\n\r\n");
      const r304 = await c.readResponse();
      assert.equal(r304.status, 304);
      await h.sleep(150);
      assert.equal(c.buf.length, 0, `bytes after a 304: ${JSON.stringify(c.buf.toString("latin1"))}`);

      c.send("GET /after HTTP/1.1\r\nHost: web\r\n\r\n");
      const last = await c.readResponse();
      assert.equal(last.status, 200);
      assert.equal(JSON.parse(last.body.toString()).url, "/after");
    } finally {
      c.destroy();
    }
  });

  t("curl -I", async () => {
    const r = await h.curl(["-I", "-H", "Host: web", `http://127.0.0.1:${f.proxy.outbound}/bytes/12345`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    assert.equal(h.header(r, "content-length"), "12345");
  });
});
