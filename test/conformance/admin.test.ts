// The admin server: /live, /ready, /metrics, /config; unknown paths 404.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`admin [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const get = (path: string, method = "GET") => h.httpRequest({ port: proxy!.admin, host: `127.0.0.1:${proxy!.admin}`, path, method });

  before(async () => {
    a = await h.startUpstream();
    proxy = await h.startProxy(h.makeConfig({ services: [{ name: "web", hostnames: ["web", "web.test"], endpoints: [a.addr] }] }));
  });
  after(async () => {
    await proxy?.stop();
    await a?.close();
  });

  t("the ready line names every listener on 127.0.0.1", async () => {
    for (const k of ["outbound", "inbound", "admin"]) assert.match(proxy!.listeners[k] ?? "", /^127\.0\.0\.1:\d+$/, `listener ${k}`);
    for (const k of ["outbound", "inbound", "admin"]) assert.ok(proxy!.port(k) > 0);
  });

  t("GET /live and /ready answer 200", async () => {
    assert.equal((await get("/live")).status, 200);
    assert.equal((await get("/ready")).status, 200);
  });

  t("GET /metrics is Prometheus text with the documented names", async () => {
    await h.httpRequest({ port: proxy!.outbound, path: "/warm" });
    const r = await get("/metrics");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /text\/plain/);
    const text = r.body.toString();
    for (const name of ["request_total", "response_total", "response_latency_ms", "tcp_open_total", "tcp_close_total", "tcp_open_connections", "tcp_read_bytes_total", "tcp_write_bytes_total"]) {
      assert.match(text, new RegExp(`^(# TYPE )?${name}[ {_]`, "m"), `${name} missing`);
    }
    assert.ok(h.parseMetrics(text).length > 0);
  });

  t("GET /config is the effective config as JSON", async () => {
    const r = await get("/config");
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /json/);
    const j = JSON.parse(r.body.toString());
    const web = (j.services as Array<{ name: string; hostnames: string[] }>).find((s) => s.name === "web");
    assert.ok(web, `no service web in ${r.body.toString().slice(0, 500)}`);
    assert.deepEqual([...web.hostnames].sort(), ["web", "web.test"]);
  });

  t("an unknown admin path is 404; GET /shutdown does not shut down", async () => {
    assert.equal((await get("/nope")).status, 404);
    const r = await get("/shutdown");
    assert.notEqual(r.status, 200);
    await h.sleep(200);
    assert.equal(proxy!.exitInfo, undefined, "GET /shutdown stopped the proxy");
    assert.equal((await get("/live")).status, 200);
  });
});
