// Weighted backend splits of a route rule: the share of each backend per request, weight 0, all weights 0,
// live weight changes on config reload, and requests outside the route staying on the parent service.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`traffic split [${h.runtime}]`, { timeout: 60_000 }, () => {
  let stable: h.ScriptedUpstream, canary: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  /** The config with the /live rule's weights (stable, canary). */
  const config = (live: [number, number]) =>
    h.makeConfig({
      services: [
        { name: "web", endpoints: [stable.addr] },
        { name: "canary", hostnames: ["canary"], endpoints: [canary.addr] },
      ],
      overrides: {
        accessLog: { enabled: false },
        routes: [
          {
            name: "split",
            parentRefs: [{ name: "web" }],
            rules: [
              { matches: [{ path: { type: "PathPrefix", value: "/split" } }], backendRefs: [{ name: "web", weight: 90 }, { name: "canary", weight: 10 }] },
              { matches: [{ path: { type: "PathPrefix", value: "/live" } }], backendRefs: [{ name: "web", weight: live[0] }, { name: "canary", weight: live[1] }] },
              { matches: [{ path: { type: "PathPrefix", value: "/nowhere" } }], backendRefs: [{ name: "web", weight: 0 }, { name: "canary", weight: 0 }] },
            ],
          },
        ],
      },
    });

  before(async () => {
    [stable, canary] = await Promise.all([h.startScriptedUpstream(), h.startScriptedUpstream()]);
    proxy = await h.startProxy(config([100, 0]));
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([stable?.close(), canary?.close()]);
  });

  const shares = (rs: h.BulkResult[]) => {
    const by = h.tally(rs, (r) => (r.status !== 200 ? `status ${r.status}` : r.headers["x-upstream"] === String(canary.port) ? "canary" : r.headers["x-upstream"] === String(stable.port) ? "stable" : "other"));
    return { stable: by.stable ?? 0, canary: by.canary ?? 0, by };
  };

  t("a 90/10 split over 2,000 requests lands within ±3 %", async () => {
    const n = 2000;
    const rs = await h.bulk({ port: proxy!.outbound, total: n, concurrency: 8, path: (i) => `/split/${i}` });
    const s = shares(rs);
    assert.equal(s.stable + s.canary, n, `responses: ${JSON.stringify(s.by)}`);
    const canaryPct = (100 * s.canary) / n;
    assert.ok(Math.abs(canaryPct - 10) <= 3, `canary got ${canaryPct.toFixed(2)} % (want 10 ± 3): ${JSON.stringify(s.by)}`);
    // the upstreams agree with what the client saw
    assert.equal(canary.count("/split/"), s.canary);
    assert.equal(stable.count("/split/"), s.stable);
  });

  t("a backend with weight 0 gets nothing", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, total: 300, concurrency: 4, path: (i) => `/live/zero/${i}` });
    assert.deepEqual(shares(rs).by, { stable: 300 });
  });

  t("a rule whose backends all weigh 0 answers 500 with x-meshlet-error", async () => {
    const before = stable.requests.length + canary.requests.length;
    const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/nowhere`]);
    assert.equal(r.status, 500, r.body.toString());
    assert.equal(h.header(r, "x-meshlet-error"), "no-backend");
    assert.equal(stable.requests.length + canary.requests.length, before, "an upstream was contacted");
  });

  t("requests outside the route's matches go to the parent service", async () => {
    const rs = await h.bulk({ port: proxy!.outbound, total: 200, concurrency: 4, path: (i) => `/elsewhere/${i}` });
    assert.deepEqual(shares(rs).by, { stable: 200 });
    const direct = await h.bulk({ port: proxy!.outbound, host: "canary", total: 50, concurrency: 2, path: (i) => `/split/${i}` });
    assert.deepEqual(shares(direct).by, { canary: 50 }, "Host: canary is another service: the web route does not apply");
  });

  t("weight changes apply live on config reload", async () => {
    // 100/0 -> 0/100: once the change has applied, everything goes to the canary
    proxy!.writeConfig(config([0, 100]));
    await h.waitFor(
      async () => (await h.httpRequest({ port: proxy!.outbound, path: "/live/probe" })).headers["x-upstream"] === String(canary.port),
      8000,
      "the reloaded weights to send /live to the canary",
      50,
    );
    let rs = await h.bulk({ port: proxy!.outbound, total: 300, concurrency: 4, path: (i) => `/live/all-canary/${i}` });
    assert.deepEqual(shares(rs).by, { canary: 300 });
    const cfg = await h.adminJson(proxy!, "/config");
    const rule = cfg.routes.find((r: { name: string }) => r.name === "split").rules[1];
    assert.deepEqual(rule.backendRefs, [{ name: "web", weight: 0 }, { name: "canary", weight: 100 }], "/config shows the new weights");

    // 0/100 -> 50/50 under traffic: no request fails across the change, and the shares follow
    const during = h.bulk({ port: proxy!.outbound, durationMs: 1500, concurrency: 4, path: (i) => `/live/during/${i}` });
    await h.sleep(300);
    proxy!.writeConfig(config([50, 50]));
    const duringRs = await during;
    const failed = duringRs.filter((r) => r.status !== 200);
    assert.deepEqual(failed.map((r) => r.status), [], "requests failed across the reload");
    await h.waitFor(
      async () => {
        const probe = await h.bulk({ port: proxy!.outbound, total: 40, concurrency: 2, path: (i) => `/live/probe2/${i}` });
        return shares(probe).stable > 0;
      },
      8000,
      "the 50/50 weights to apply",
      50,
    );
    rs = await h.bulk({ port: proxy!.outbound, total: 1000, concurrency: 8, path: (i) => `/live/half/${i}` });
    const s = shares(rs);
    assert.equal(s.stable + s.canary, 1000, JSON.stringify(s.by));
    assert.ok(Math.abs(s.canary - 500) <= 60, `50/50 split gave ${JSON.stringify(s.by)}`);
  });
});
