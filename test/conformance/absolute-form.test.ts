// Absolute-form request targets (as sent to a forward proxy).
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`absolute-form targets [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture((up) => h.makeConfig({ services: [{ name: "web", hostnames: ["web", "web.test"], endpoints: [up.addr] }] }));
  const t = f.test;

  t("curl -x sends absolute-form and reaches the service", async () => {
    const r = await h.curl(["-x", `http://127.0.0.1:${f.proxy.outbound}`, "http://web.test/abs/path?q=1"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString());
    assert.match(j.url, /\/abs\/path\?q=1$/);
    assert.equal(j.headers.host.replace(/:\d+$/, ""), "web.test");
  });

  t("the absolute-form authority wins over a different Host header (RFC 9112 3.2.2)", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET http://web/abs2 HTTP/1.1\r\nHost: unknown.example\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200, r.head);
      const j = JSON.parse(r.body.toString());
      assert.match(j.url, /\/abs2$/);
      assert.equal(j.headers.host.replace(/:\d+$/, ""), "web");
    } finally {
      c.destroy();
    }
  });
});
