// Keep-alive: client connections are reused and the proxy pools upstream connections.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`keep-alive [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, b: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    [a, b] = await Promise.all([h.startUpstream(), h.startUpstream()]);
    proxy = await h.startProxy(h.makeConfig({ services: [{ name: "web", endpoints: [a.addr, b.addr] }] }));
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  t("20 sequential requests on one client connection use few upstream connections", async () => {
    const agent = h.keepAliveAgent(1);
    try {
      const before = a.connections + b.connections;
      let reused = 0;
      for (let i = 0; i < 20; i++) {
        const r = await h.httpRequest({ port: proxy!.outbound, path: `/ka/${i}`, agent });
        assert.equal(r.status, 200);
        if (r.reusedSocket) reused++;
      }
      const opened = a.connections + b.connections - before;
      assert.ok(reused >= 18, `the client connection was reused only ${reused}/19 times`);
      assert.ok(opened <= 4, `upstreams saw ${opened} new connections for 20 requests (no pooling?)`);
      assert.ok(a.requests.length > 0 && b.requests.length > 0, "both endpoints got requests");
    } finally {
      agent.destroy();
    }
  });

  t("a keep-alive request after an idle pause still works", async () => {
    const agent = h.keepAliveAgent(1);
    try {
      assert.equal((await h.httpRequest({ port: proxy!.outbound, agent })).status, 200);
      await h.sleep(500);
      assert.equal((await h.httpRequest({ port: proxy!.outbound, agent })).status, 200);
    } finally {
      agent.destroy();
    }
  });

  t("a response that was not fully read does not poison the pool", async () => {
    // Client aborts a large download mid-body; the next requests must still succeed.
    const c = await h.RawConn.open(proxy!.outbound);
    c.send("GET /bytes/20000000 HTTP/1.1\r\nHost: web\r\n\r\n");
    await c.until(() => (c.buf.length > 100_000 ? true : undefined), 5000, "some body bytes");
    c.destroy();
    for (let i = 0; i < 6; i++) {
      const r = await h.httpRequest({ port: proxy!.outbound, path: `/after-abort/${i}` });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body.toString()).url, `/after-abort/${i}`);
    }
  });
});
