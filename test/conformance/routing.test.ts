// Outbound routing by Host (with and without port), a round-robin service, inbound to the app.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`routing [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, b: h.Upstream, app: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    [a, b, app] = await Promise.all([h.startUpstream(), h.startUpstream(), h.startUpstream()]);
    proxy = await h.startProxy(
      h.makeConfig({
        services: [{ name: "web", hostnames: ["web", "web.test"], endpoints: [a.addr, b.addr], balancer: "round-robin" }],
        app: app.addr,
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([a?.close(), b?.close(), app?.close()]);
  });

  t("curl reaches the service by Host", async () => {
    const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/hello?x=1`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString());
    assert.equal(j.url, "/hello?x=1");
    assert.equal(j.method, "GET");
    assert.ok([a.port, b.port].includes(j.port), `answered by ${j.port}`);
  });

  t("every hostname routes, with or without a port in Host", async () => {
    for (const host of ["web", "web.test", `web:${proxy!.outbound}`, "web.test:80", "WEB.Test"]) {
      const r = await h.curl(["-H", `Host: ${host}`, `http://127.0.0.1:${proxy!.outbound}/`]);
      assert.equal(r.status, 200, `Host: ${host} -> ${r.status} ${r.body.toString()}`);
      assert.ok(h.header(r, "x-upstream"), `Host: ${host}: no x-upstream`);
    }
  });

  t("a round-robin service alternates between its endpoints", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/rr/${i}`]);
      assert.equal(r.status, 200);
      seen.push(h.header(r, "x-upstream")!);
    }
    const counts = new Map<string, number>();
    for (const s of seen) counts.set(s, (counts.get(s) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [String(a.port), String(b.port)].sort(), `seen ${seen.join(",")}`);
    assert.equal(counts.get(String(a.port)), 4, `seen ${seen.join(",")}`);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `not alternating: ${seen.join(",")}`);
  });

  t("the inbound listener forwards to the local app", async () => {
    const r = await h.curl(["-H", "Host: anything.example", `http://127.0.0.1:${proxy!.port("inbound")}/in`]);
    assert.equal(r.status, 200, r.stderr);
    assert.equal(h.header(r, "x-upstream"), String(app.port));
    assert.equal(JSON.parse(r.body.toString()).url, "/in");
  });

  t("an unknown host gets a proxy-made error with x-meshlet-error", async () => {
    const r = await h.curl(["-H", "Host: nope.example", `http://127.0.0.1:${proxy!.outbound}/`]);
    assert.ok(r.status >= 400 && r.status < 600, `status ${r.status}`);
    assert.ok(h.header(r, "x-meshlet-error"), `headers ${JSON.stringify(r.headers)}`);
    assert.equal(h.header(r, "x-upstream"), undefined);
  });
});
