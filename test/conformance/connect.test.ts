// CONNECT to a configured service authority opens a byte tunnel to one of its endpoints.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`CONNECT tunnel [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, echo: h.TcpUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    a = await h.startUpstream();
    echo = await h.startTcpUpstream((s) => s.pipe(s));
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", endpoints: [a.addr] },
          { name: "tunnel", hostnames: ["tunnel.test"], endpoints: [echo.addr] },
        ],
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a?.close(), echo?.close()]);
  });

  t("raw CONNECT: 2xx, then bytes flow both ways, half-close propagates", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      c.send("CONNECT tunnel.test:443 HTTP/1.1\r\nHost: tunnel.test:443\r\n\r\n");
      const r = await c.readResponse({ method: "CONNECT" });
      assert.ok(r.status >= 200 && r.status < 300, r.head);
      const payload = Buffer.alloc(100_000, 0xab);
      c.send(payload);
      c.send(Buffer.from([0, 1, 2, 3]));
      await c.until(() => (c.buf.length >= payload.length + 4 ? true : undefined), 5000, "the echo");
      c.end();
      await c.waitClose(5000);
      assert.equal(c.buf.length, payload.length + 4);
      assert.deepEqual(c.buf.subarray(-4), Buffer.from([0, 1, 2, 3]));
    } finally {
      c.destroy();
    }
  });

  t("curl --proxytunnel: an HTTP request through the tunnel", async () => {
    const r = await h.curl(["-p", "-x", `http://127.0.0.1:${proxy!.outbound}`, "http://web:80/through-tunnel"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(r.headerBlocks.length >= 2, `expected CONNECT reply + response: ${JSON.stringify(r.headerBlocks)}`);
    assert.ok(r.headerBlocks[0]!.status >= 200 && r.headerBlocks[0]!.status < 300);
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString());
    assert.equal(j.url, "/through-tunnel");
    assert.equal(j.port, a.port);
  });

  t("CONNECT to an unknown authority is refused with x-meshlet-error", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      c.send("CONNECT nowhere.example:443 HTTP/1.1\r\nHost: nowhere.example:443\r\n\r\n");
      const r = await c.readResponse({ method: "GET" });
      assert.ok(r.status >= 400, r.head);
      assert.ok(h.header(r, "x-meshlet-error"), r.head);
    } finally {
      c.destroy();
    }
  });
});
