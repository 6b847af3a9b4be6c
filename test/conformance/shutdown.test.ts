// Graceful shutdown (POST /shutdown, SIGTERM): stop accepting, finish in-flight requests, exit 0.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

const refused = (port: number) =>
  new Promise<boolean>((res) => {
    const s = net.connect({ port, host: h.HOST });
    s.once("connect", () => {
      s.destroy();
      res(false);
    });
    s.once("error", () => res(true));
  });

describe(`graceful shutdown [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream;
  let proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const start = async () => {
    await proxy?.stop(); // a previous case that failed early may have left its proxy running
    return h.startProxy(h.makeConfig({ services: [{ name: "web", endpoints: [a.addr] }], overrides: { shutdownGrace: "5s" } }));
  };

  before(async () => {
    a = await h.startUpstream();
  });
  after(async () => {
    await proxy?.stop();
    await a?.close();
  });

  t("POST /shutdown: in-flight request completes, new connections refused, exit 0", async () => {
    proxy = await start();
    const port = proxy.outbound;
    // an idle keep-alive client connection must not hold the drain open
    const idle = await h.RawConn.open(port);
    idle.send("GET /idle HTTP/1.1\r\nHost: web\r\n\r\n");
    await idle.readResponse();

    const inflight = h.httpRequest({ port, path: "/delay/2500/inflight", timeoutMs: 10_000 });
    await h.waitFor(() => a.requests.some((r) => r.url === "/delay/2500/inflight"), 3000, "the in-flight request to reach the upstream");
    let done = false;
    void inflight.then(() => (done = true), () => (done = true));

    const startedAt = Date.now();
    const r = await h.httpRequest({ port: proxy.admin, host: `127.0.0.1:${proxy.admin}`, method: "POST", path: "/shutdown" });
    assert.ok(r.status >= 200 && r.status < 300, `POST /shutdown answered ${r.status}`);

    await h.waitFor(() => refused(port), 2000, "the outbound listener to stop accepting");
    assert.equal(done, false, "the in-flight request finished before the listener closed (test too slow to tell)");

    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body.toString()).url, "/delay/2500/inflight");

    const exit = await proxy.waitExit(8000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - startedAt < 7500, `exit took ${Date.now() - startedAt} ms with shutdownGrace 5s`);
    idle.destroy();
  });

  t("SIGTERM drains the same way", async () => {
    proxy = await start();
    const inflight = h.httpRequest({ port: proxy.outbound, path: "/delay/1000/term", timeoutMs: 10_000 });
    await h.waitFor(() => a.requests.some((r) => r.url === "/delay/1000/term"), 3000, "the in-flight request to reach the upstream");
    proxy.signal("SIGTERM");
    const res = await inflight;
    assert.equal(res.status, 200);
    const exit = await proxy.waitExit(8000);
    assert.deepEqual(exit, { code: 0, signal: null });
  });

  t("SIGINT exits 0 when idle", async () => {
    proxy = await start();
    proxy.signal("SIGINT");
    const exit = await proxy.waitExit(8000);
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
