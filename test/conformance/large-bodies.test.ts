// 50 MB streamed bodies both ways: bytes intact, backpressure honoured, proxy memory bounded.
import assert from "node:assert/strict";
import http from "node:http";
import { createHash } from "node:crypto";
import { after, before, describe, test, type TestContext } from "node:test";
import * as h from "./harness.ts";

const SIZE = 50 * 1024 * 1024;
/**
 * Peak-RSS growth allowed over both transfers. Streaming through a GC runtime still leaves garbage
 * (a node:http pipe measured +29 MB here, Deno node-compat +88 MB); holding a 50 MB body whole
 * measured +124 MB. The backpressure checks below are the precise test; this is the coarse guard.
 */
const RSS_GROWTH_LIMIT_MB = Number(process.env.MESHLET_RSS_GROWTH_MB ?? 100);
/** While the receiver does not read for PAUSE_MS, the sender must stall well short of SIZE. */
const PAUSE_MS = 1500;
const STALL_LIMIT = 35 * 1024 * 1024;

describe(`50 MB bodies [${h.runtime}]`, { timeout: 120_000 }, () => {
  let a: h.Upstream, proxy: h.ProxyProcess | undefined;
  let baselineKb = 0;
  const t = (name: string, fn: (ctx: TestContext) => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    a = await h.startUpstream();
    proxy = await h.startProxy(h.makeConfig({ services: [{ name: "web", endpoints: [a.addr] }] }));
    // warm up the path (JIT, pools) with a few small and medium transfers before taking the baseline
    for (let i = 0; i < 3; i++) {
      await h.httpRequest({ port: proxy.outbound, path: "/bytes/1000000" });
      await h.httpRequest({ port: proxy.outbound, method: "POST", path: "/sink", body: Buffer.alloc(1_000_000) });
    }
    baselineKb = proxy.peakRssKb();
  });
  after(async () => {
    await proxy?.stop();
    await a?.close();
  });

  t("download: 50 MB intact, upstream stalls while the client does not read", async (ctx) => {
    const result = await h.withTimeout(
      new Promise<{ bytes: number; sha: string; progressWhilePaused: number }>((res, rej) => {
        const req = http.request({ host: h.HOST, port: proxy!.outbound, path: `/bytes/${SIZE}`, headers: { host: "web" }, agent: false }, (r) => {
          if (r.statusCode !== 200) return rej(new Error(`status ${r.statusCode}`));
          r.pause();
          setTimeout(() => {
            const progressWhilePaused = a.streamProgress;
            const hash = createHash("sha256");
            let bytes = 0;
            r.on("data", (c: Buffer) => {
              bytes += c.length;
              hash.update(c);
            });
            r.on("end", () => res({ bytes, sha: hash.digest("hex"), progressWhilePaused }));
            r.on("error", rej);
            r.resume();
          }, PAUSE_MS);
        });
        req.on("error", rej);
        req.end();
      }),
      60_000,
      "50 MB download",
    );
    ctx.diagnostic(`upstream progress while the client was paused: ${(result.progressWhilePaused / 2 ** 20).toFixed(1)} MiB`);
    assert.equal(result.bytes, SIZE);
    assert.equal(result.sha, h.patternSha256(SIZE));
    assert.ok(
      result.progressWhilePaused < STALL_LIMIT,
      `the upstream wrote ${(result.progressWhilePaused / 2 ** 20).toFixed(1)} MiB while the client read nothing: no backpressure`,
    );
  });

  t("upload: 50 MB intact, the client stalls while the upstream does not read", async (ctx) => {
    let written = 0;
    let progressWhilePaused = -1;
    const body = await h.withTimeout(
      new Promise<string>((res, rej) => {
        const req = http.request(
          { host: h.HOST, port: proxy!.outbound, method: "POST", path: `/sink?pauseMs=${PAUSE_MS + 500}`, headers: { host: "web", "content-length": String(SIZE) }, agent: false },
          (r) => {
            const chunks: Buffer[] = [];
            r.on("data", (c: Buffer) => chunks.push(c));
            r.on("end", () => (r.statusCode === 200 ? res(Buffer.concat(chunks).toString()) : rej(new Error(`status ${r.statusCode}`))));
          },
        );
        req.on("error", rej);
        setTimeout(() => (progressWhilePaused = written), PAUSE_MS);
        const pump = () => {
          while (written < SIZE) {
            const n = Math.min(64 * 1024, SIZE - written);
            const ok = req.write(h.patternChunk(written, n));
            written += n;
            if (!ok) return void req.once("drain", pump);
          }
          req.end();
        };
        pump();
      }),
      60_000,
      "50 MB upload",
    );
    ctx.diagnostic(`client progress while the upstream was paused: ${(progressWhilePaused / 2 ** 20).toFixed(1)} MiB`);
    const j = JSON.parse(body);
    assert.equal(j.bodyBytes, SIZE);
    assert.equal(j.bodySha256, h.patternSha256(SIZE));
    assert.ok(progressWhilePaused >= 0 && progressWhilePaused < STALL_LIMIT, `the client wrote ${(progressWhilePaused / 2 ** 20).toFixed(1)} MiB while the upstream read nothing: no backpressure`);
  });

  t(`proxy peak RSS grew by less than ${RSS_GROWTH_LIMIT_MB} MB over both transfers`, async (ctx) => {
    const peakKb = proxy!.peakRssKb();
    const growthMb = (peakKb - baselineKb) / 1024;
    ctx.diagnostic(`peak RSS ${baselineKb} kB -> ${peakKb} kB (+${growthMb.toFixed(1)} MB)`);
    assert.ok(peakKb > 0, "could not read VmHWM from /proc");
    assert.ok(growthMb < RSS_GROWTH_LIMIT_MB, `peak RSS ${baselineKb} kB -> ${peakKb} kB (+${growthMb.toFixed(1)} MB): is a body buffered whole?`);
  });
});
