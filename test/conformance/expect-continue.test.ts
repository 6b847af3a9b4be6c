// Expect: 100-continue: the client gets 100 Continue before it sends the body.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`expect 100-continue [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("a raw client waits for 100 Continue, then sends the body", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("POST /continue HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
      const interim = await c.readResponse({ keepInformational: true, timeoutMs: 3000 });
      assert.equal(interim.status, 100, interim.head);
      c.send("hello");
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      const j = JSON.parse(r.body.toString());
      assert.equal(j.bodyBytes, 5);
    } finally {
      c.destroy();
    }
  });

  t("curl uploads 2 MB with Expect: 100-continue without waiting for its fallback timer", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = await h.curl(
      ["--expect100-timeout", "8", "-H", "Host: web", "-H", "Expect: 100-continue", "--data-binary", "@-", `http://127.0.0.1:${f.proxy.outbound}/big`],
      { input: data },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    assert.ok(r.headerBlocks.some((b) => b.status === 100), `no 100 Continue seen: ${JSON.stringify(r.headerBlocks.map((b) => b.status))}`);
    assert.ok(r.elapsedMs < 6000, `curl took ${r.elapsedMs} ms: did it wait for its expect timeout?`);
    const j = JSON.parse(r.body.toString());
    assert.equal(j.bodyBytes, data.length);
    assert.equal(j.bodySha256, h.sha256(data));
  });
});
