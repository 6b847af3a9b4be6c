// The config file is watched: a valid change applies under traffic with zero failed requests;
// an invalid change is logged and ignored, and the watch keeps working afterwards.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`config reload [${h.runtime}]`, { timeout: 90_000 }, () => {
  let a1: h.Upstream, a2: h.Upstream, b1: h.Upstream, b2: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const config = (endpoints: string[]) => h.makeConfig({ services: [{ name: "web", endpoints }] });
  const adminConfig = async () => JSON.parse((await h.httpRequest({ port: proxy!.admin, host: `127.0.0.1:${proxy!.admin}`, path: "/config" })).body.toString());
  const endpointsOf = (cfg: { services: Array<{ name: string; endpoints: unknown[] }> }) =>
    JSON.stringify(cfg.services.find((s) => s.name === "web")?.endpoints);

  before(async () => {
    [a1, a2, b1, b2] = await Promise.all([h.startUpstream(), h.startUpstream(), h.startUpstream(), h.startUpstream()]);
    proxy = await h.startProxy(config([a1.addr, a2.addr]));
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a1, a2, b1, b2].map((u) => u?.close()));
  });

  t("a valid change under keep-alive traffic: new endpoints get traffic, no request fails", async () => {
    const bPorts = new Set([String(b1.port), String(b2.port)]);
    const failures: string[] = [];
    const log: Array<{ start: number; upstream: string }> = [];
    let stop = false;
    let firstB = 0;
    const worker = async (id: number) => {
      const agent = h.keepAliveAgent(1);
      try {
        for (let i = 0; !stop; i++) {
          const start = Date.now();
          try {
            const r = await h.httpRequest({ port: proxy!.outbound, path: `/w${id}/${i}`, agent, timeoutMs: 5000 });
            const up = String(r.headers["x-upstream"]);
            if (r.status !== 200) failures.push(`w${id}/${i}: ${r.status} ${r.headers["x-meshlet-error"] ?? ""}`);
            else log.push({ start, upstream: up });
            if (bPorts.has(up) && !firstB) firstB = Date.now();
          } catch (e) {
            failures.push(`w${id}/${i}: ${(e as Error).message}`);
          }
        }
      } finally {
        agent.destroy();
      }
    };
    // slow requests in flight across the change must complete on the old endpoints
    const slow = [1, 2].map((i) => h.httpRequest({ port: proxy!.outbound, path: `/delay/1500/slow${i}`, timeoutMs: 8000 }));
    const workers = [0, 1, 2, 3].map(worker);
    await h.sleep(500);
    const writtenAt = Date.now();
    proxy!.writeConfig(config([b1.addr, b2.addr]));
    try {
      await h.waitFor(() => firstB, 5000, "a response from the new endpoints");
      await h.sleep(700);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    const slowResults = await Promise.allSettled(slow);
    for (const s of slowResults) {
      if (s.status === "rejected") failures.push(`slow request: ${String(s.reason)}`);
      else if (s.status === "fulfilled" && s.value.status !== 200) failures.push(`slow request: ${s.value.status}`);
    }
    assert.deepEqual(failures, [], `${failures.length} requests failed across the reload`);
    assert.ok(log.length > 20, `only ${log.length} requests made`);
    assert.ok(b1.requests.length > 0 && b2.requests.length > 0, `new endpoints: ${b1.requests.length} / ${b2.requests.length} requests`);
    const settled = log.filter((l) => l.start > firstB + 300);
    assert.ok(settled.length > 0, "no requests after the change settled");
    const stale = settled.filter((l) => !bPorts.has(l.upstream));
    assert.equal(stale.length, 0, `${stale.length}/${settled.length} requests went to old endpoints after the reload`);
    assert.ok(firstB - writtenAt < 5000);
    assert.equal(endpointsOf(await adminConfig()).includes(String(b1.port)), true, "/config shows the new endpoints");
  });

  t("an invalid change is logged and ignored; a later valid change still applies", async () => {
    const before = await adminConfig();
    const via = async () => String((await h.httpRequest({ port: proxy!.outbound, path: "/check" })).headers["x-upstream"]);
    const current = new Set([String(b1.port), String(b2.port)]);
    assert.ok(current.has(await via()));

    for (const bad of ["{ this is not json", JSON.stringify({ ...config([a1.addr]), services: "nope", admin: { port: "x" } })]) {
      const errLen = proxy!.stderr.length;
      proxy!.writeConfig(bad);
      await h.waitFor(() => proxy!.stderr.length > errLen, 5000, "the invalid change to be logged on stderr");
      await h.sleep(300);
      assert.equal(proxy!.exitInfo, undefined, "the proxy exited on an invalid change");
      for (let i = 0; i < 4; i++) assert.ok(current.has(await via()), "traffic left the old config");
      assert.equal(endpointsOf(await adminConfig()), endpointsOf(before), "/config changed after an invalid file");
    }

    proxy!.writeConfig(config([a1.addr]));
    await h.waitFor(async () => (await via()) === String(a1.port), 5000, "the valid change after invalid ones to apply");
  });
});
