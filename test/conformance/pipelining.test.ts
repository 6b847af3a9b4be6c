// Pipelined requests on one connection are answered in order, even when the first is the slowest.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`pipelining [${h.runtime}]`, { timeout: 60_000 }, () => {
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

  t("3 pipelined requests in one write are answered in order", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      c.send(
        "GET /delay/300/first HTTP/1.1\r\nHost: web\r\n\r\n" +
          "POST /second HTTP/1.1\r\nHost: web\r\nContent-Length: 5\r\n\r\nhello" +
          "GET /third HTTP/1.1\r\nHost: web\r\n\r\n",
      );
      const paths: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await c.readResponse({ timeoutMs: 5000 });
        assert.equal(r.status, 200, r.head);
        paths.push(JSON.parse(r.body.toString()).url);
      }
      assert.deepEqual(paths, ["/delay/300/first", "/second", "/third"]);
      // the connection stays usable afterwards
      c.send("GET /fourth HTTP/1.1\r\nHost: web\r\n\r\n");
      const r4 = await c.readResponse();
      assert.equal(JSON.parse(r4.body.toString()).url, "/fourth");
    } finally {
      c.destroy();
    }
  });

  t("pipelined requests split across writes at odd boundaries", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      const all = Buffer.from(
        "GET /p1 HTTP/1.1\r\nHost: web\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /p3 HTTP/1.1\r\nHost: web\r\n\r\n",
      );
      for (let i = 0; i < all.length; i += 7) {
        c.send(all.subarray(i, i + 7));
        await h.sleep(1);
      }
      const got = [];
      for (let i = 0; i < 3; i++) got.push(JSON.parse((await c.readResponse()).body.toString()));
      assert.deepEqual(got.map((j) => j.url), ["/p1", "/p2", "/p3"]);
      assert.equal(got[1].bodyBytes, 3);
    } finally {
      c.destroy();
    }
  });
});
