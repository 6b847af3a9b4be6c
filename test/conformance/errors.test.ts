// Proxy-made error responses: 502 refused / reset / malformed, 503 no endpoints, 504 response timeout.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`error responses [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    a = await h.startUpstream();
    const refused = await h.closedPort();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", endpoints: [a.addr] },
          { name: "refused", hostnames: ["refused"], endpoints: [refused] },
          { name: "empty", hostnames: ["empty"], endpoints: [] },
        ],
        overrides: { responseTimeout: "1s", pool: { maxIdlePerEndpoint: 10, idleTimeout: "30s", connectTimeout: "2s" } },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await a?.close();
  });

  const expectError = async (host: string, path: string, status: number) => {
    const r = await h.curl(["-H", `Host: ${host}`, `http://127.0.0.1:${proxy!.outbound}${path}`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, status, `${host}${path}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    assert.ok(h.header(r, "x-meshlet-error"), `no x-meshlet-error header: ${JSON.stringify(r.headers)}`);
    return r;
  };

  t("502 when the endpoint refuses the connection", async () => {
    await expectError("refused", "/", 502);
  });

  t("502 when the upstream resets the connection", async () => {
    await expectError("web", "/reset", 502);
  });

  t("502 when the upstream answers a malformed response", async () => {
    await expectError("web", "/malformed", 502);
  });

  t("503 when the service has no endpoints", async () => {
    await expectError("empty", "/", 503);
  });

  t("504 when the response does not start within responseTimeout", async () => {
    const r = await expectError("web", "/delay/4000", 504);
    assert.ok(r.elapsedMs >= 900 && r.elapsedMs < 3500, `504 after ${r.elapsedMs} ms with responseTimeout 1s`);
  });

  t("the proxy keeps serving after every error", async () => {
    const agent = h.keepAliveAgent(1);
    try {
      for (const [host, path] of [["refused", "/"], ["web", "/ok"], ["empty", "/"], ["web", "/ok2"]] as const) {
        const r = await h.httpRequest({ port: proxy!.outbound, host, path, agent });
        if (host === "web") {
          assert.equal(r.status, 200);
          assert.equal(JSON.parse(r.body.toString()).url, path);
        } else assert.ok(r.status >= 500 && r.headers["x-meshlet-error"]);
      }
    } finally {
      agent.destroy();
    }
  });
});
