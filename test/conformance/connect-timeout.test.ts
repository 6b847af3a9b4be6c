// Connect timeouts end to end on loopback: a listener whose accept queue is full (its process never accepts)
// drops further SYNs, so connecting to it hangs like a black-holed address. The proxy answers 504
// connect-timeout after pool.connectTimeout, and a route with retries moves on to an endpoint that answers.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

/** A loopback port whose accept queue is full: new connections neither complete nor fail. */
async function blackHole(): Promise<{ addr: string; close(): Promise<void> }> {
  // backlog 1, then the event loop is blocked: the kernel completes at most a couple of handshakes, then drops SYNs.
  const child: ChildProcess = spawn(process.execPath, ["-e", `
    const s = require("node:net").createServer();
    s.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
      process.stdout.write(s.address().port + "\\n");
      setTimeout(() => { const end = Date.now() + 120000; while (Date.now() < end) {} }, 50);
    });`], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once("exit", () => reject(new Error("black hole exited")));
  });
  await h.sleep(150);
  // Fill the accept queue: these handshakes complete (the kernel accepts them), later ones hang.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ host: h.HOST, port });
    s.on("error", () => {});
    fillers.push(s);
  }
  await h.sleep(300);
  return {
    addr: `${h.HOST}:${port}`,
    async close() {
      for (const s of fillers) s.destroy();
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
    },
  };
}

describe(`connect timeout [${h.runtime}]`, { timeout: 60_000 }, () => {
  let good: h.Upstream, hole: Awaited<ReturnType<typeof blackHole>>, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    [good, hole] = await Promise.all([h.startUpstream(), blackHole()]);
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "hole", endpoints: [hole.addr], failureAccrual: false },
          // round-robin so the black hole gets every other first try, whatever it learned
          { name: "mixed", endpoints: [hole.addr, good.addr], balancer: "round-robin", failureAccrual: false },
        ],
        overrides: {
          pool: { connectTimeout: "300ms" },
          routes: [{
            name: "mixed-retry",
            parentRefs: [{ name: "mixed" }],
            rules: [{ retry: { attempts: 1, conditions: ["connect-failure"], backoff: { base: "1ms", max: "1ms" } } }],
          }],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([good?.close(), hole?.close()]);
  });

  t("an endpoint that never completes the handshake gets 504 connect-timeout after pool.connectTimeout", async () => {
    const r = await h.curl(["-H", "Host: hole", `http://127.0.0.1:${proxy!.outbound}/`]);
    assert.equal(r.status, 504, r.body.toString());
    assert.equal(h.header(r, "x-meshlet-error"), "connect-timeout");
    assert.ok(r.elapsedMs >= 250 && r.elapsedMs < 2500, `answered after ${r.elapsedMs} ms with connectTimeout 300ms`);
  });

  t("a route retrying connect failures moves on to an endpoint that answers", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await h.curl(["-H", "Host: mixed", `http://127.0.0.1:${proxy!.outbound}/try/${i}`]);
      assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.body.toString()}`);
      assert.equal(h.header(r, "x-upstream"), good.addr.split(":")[1]);
    }
    const samples = await h.scrape(proxy!);
    const retries = h.sumMetric(samples, "http_route_retry_requests_total", { route: "mixed-retry", service: "mixed" });
    assert.ok(retries >= 1, `expected retries after connect timeouts, metric says ${retries}`);
  });
});
