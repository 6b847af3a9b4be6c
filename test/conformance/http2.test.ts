// HTTP/2 with prior knowledge (h2c) through the proxy, with real peers: curl --http2-prior-knowledge, nghttp and
// h2load as clients, a node:http2 upstream. Each stream is routed and balanced on its own; HTTP/2 stays HTTP/2 to
// an h2c service ("auto"), HTTP/1 and HTTP/2 translate both ways, and the proxy's own errors are HTTP/2 responses.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

interface H2Upstream {
  port: number;
  addr: string;
  child: ChildProcess;
  close(): void;
}

/** The node:http2 fixture, run by Node whatever runtime runs this file. */
async function startH2Upstream(): Promise<H2Upstream> {
  const child = spawn("node", [`${h.REPO_ROOT}/test/fixtures/h2-upstream.mjs`], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await h.withTimeout(
    new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString();
        const nl = out.indexOf("\n");
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)).port);
      });
      child.on("exit", (code) => reject(new Error(`h2 upstream exited with ${code}`)));
    }),
    10_000,
    "the h2 upstream to listen",
  );
  return { port, addr: `${h.HOST}:${port}`, child, close: () => void child.kill("SIGTERM") };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 << 20, encoding: "latin1" }, (err, stdout, stderr) => {
      const c = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof c === "number" ? c : err ? -1 : 0, stdout, stderr });
    });
  });
}

/** curl over h2c; prints "VERSION STATUS" after the body (written to a file when `out` is given). */
async function curlH2(url: string, args: string[] = [], host = "web"): Promise<{ version: string; status: number; body: string; stderr: string }> {
  const r = await run("curl", ["-sS", "--http2-prior-knowledge", "--max-time", "20", "-H", `host: ${host}`, "-w", "\n%{http_version} %{http_code}", ...args, url]);
  const nl = r.stdout.lastIndexOf("\n");
  const [version, status] = r.stdout.slice(nl + 1).split(" ");
  return { version: version!, status: Number(status), body: r.stdout.slice(0, nl), stderr: r.stderr };
}

describe(`http2 [${h.runtime}]`, { timeout: 120_000 }, () => {
  let up1: h.Upstream, up2: h.Upstream, h2up: H2Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const url = (path: string) => `http://${h.HOST}:${proxy!.outbound}${path}`;

  before(async () => {
    [up1, up2, h2up] = await Promise.all([h.startUpstream(), h.startUpstream(), startH2Upstream()]);
    const refused = await h.closedPort();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", endpoints: [up1.addr] },
          { name: "pair", endpoints: [up1.addr, up2.addr], balancer: "round-robin" },
          { name: "grpcish", endpoints: [h2up.addr] },
          { name: "forced", endpoints: [h2up.addr], protocol: "h2c" },
          { name: "down", endpoints: [refused], failureAccrual: false },
        ],
        overrides: { accessLog: { enabled: false } },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([up1?.close(), up2?.close()]);
    h2up?.close();
  });

  t("curl over h2c reaches an HTTP/1 service, which sees HTTP/1.1 with the :authority as Host", async () => {
    const r = await curlH2(url("/a/b?x=1"), ["-H", "x-custom: yes"]);
    assert.equal(r.version, "2", r.stderr);
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body);
    assert.equal(seen.httpVersion, "1.1");
    assert.equal(seen.method, "GET");
    assert.equal(seen.url, "/a/b?x=1");
    assert.equal(seen.headers.host, "web");
    assert.equal(seen.headers["x-custom"], "yes");
  });

  t("a 3 MB upload over h2c arrives whole at an HTTP/1 service", async () => {
    const file = h.tempPath("h2-upload.bin");
    writeFileSync(file, h.patternChunk(0, 3 << 20));
    const r = await curlH2(url("/upload"), ["--data-binary", `@${file}`]);
    assert.equal(r.status, 200, r.stderr);
    const seen = JSON.parse(r.body);
    assert.equal(seen.method, "POST");
    assert.equal(seen.bodyBytes, 3 << 20);
    assert.equal(seen.bodySha256, h.patternSha256(3 << 20));
  });

  t("a 4 MiB response from an h2c service streams back over h2c intact", async () => {
    const file = h.tempPath("h2-big.bin");
    const r = await curlH2(url("/big?n=4194304"), ["-o", file], "grpcish");
    assert.equal(r.status, 200, r.stderr);
    const { readFileSync } = await import("node:fs");
    const body = readFileSync(file);
    assert.equal(body.length, 4194304);
    for (const i of [0, 1, 250, 251, 4194303]) assert.equal(body[i], i % 251);
  });

  t("HTTP/2 stays HTTP/2 to an h2c service, with the request body and the trailers passed through (nghttp)", async () => {
    const file = h.tempPath("h2-echo.bin");
    writeFileSync(file, h.patternChunk(0, 100_000));
    const r = await run("nghttp", ["-v", "-d", file, "-H", ":authority: grpcish", url("/echo")]);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(-2000));
    assert.match(r.stdout, /recv \(stream_id=\d+\) :status: 200/);
    assert.match(r.stdout, /recv \(stream_id=\d+\) x-trailer: done/);
    assert.match(r.stdout, /recv \(stream_id=\d+\) x-request-bytes: 100000/);
    const info = JSON.parse((await curlH2(url("/info"), [], "grpcish")).body);
    assert.equal(info.httpVersion, "2.0");
    assert.equal(info.authority, "grpcish");
  });

  t("an HTTP/1.1 client reaches an h2c service (protocol: h2c), body and all", async () => {
    const info = await h.httpRequest({ port: proxy!.outbound, host: "forced", path: "/info?q=1" });
    assert.equal(info.status, 200);
    const seen = JSON.parse(info.body.toString());
    assert.equal(seen.httpVersion, "2.0");
    assert.equal(seen.path, "/info?q=1");
    assert.equal(seen.authority, "forced");
    assert.equal(seen.headers.connection, undefined);
    const echo = await h.httpRequest({ port: proxy!.outbound, host: "forced", path: "/echo", method: "POST", body: h.patternChunk(0, 200_000) });
    assert.equal(echo.status, 200);
    assert.equal(h.sha256(echo.body), h.patternSha256(200_000));
    assert.equal(echo.headers["transfer-encoding"], "chunked");
    assert.equal(echo.trailers["x-trailer"], "done");
  });

  t("h2load: 2,000 requests on 2 connections x 20 streams all succeed, over one upstream HTTP/2 connection", async () => {
    const before = JSON.parse((await curlH2(url("/info"), [], "grpcish")).body).sessions as number;
    const r = await run("h2load", ["-n", "2000", "-c", "2", "-m", "20", "-H", ":authority: grpcish", url("/info")], 60_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
    assert.match(r.stdout, /status codes: 2000 2xx/);
    const afterInfo = JSON.parse((await curlH2(url("/info"), [], "grpcish")).body);
    assert.ok(afterInfo.sessions - before <= 1, `the proxy opened ${afterInfo.sessions - before} more upstream connections`);
  });

  t("streams of one client connection are balanced per request", async () => {
    const n1 = up1.requests.length;
    const n2 = up2.requests.length;
    const urls = Array.from({ length: 20 }, (_, i) => url(`/spread/${i}`));
    // nghttp sends every URI as a stream of one connection (curl 7.88 cannot reuse an h2c prior-knowledge connection).
    const r = await run("nghttp", ["-n", "-H", ":authority: pair", ...urls]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const got1 = up1.requests.slice(n1).filter((q) => q.url.startsWith("/spread/")).length;
    const got2 = up2.requests.slice(n2).filter((q) => q.url.startsWith("/spread/")).length;
    assert.equal(got1 + got2, 20);
    assert.ok(got1 >= 8 && got2 >= 8, `round-robin over one connection: ${got1} / ${got2}`);
  });

  t("the proxy's own errors are HTTP/2 responses with x-meshlet-error", async () => {
    const noRoute = await curlH2(url("/"), ["-D", "-"], "nowhere");
    assert.equal(noRoute.version, "2");
    assert.equal(noRoute.status, 404);
    assert.match(noRoute.body, /x-meshlet-error: no-route/);
    const refused = await curlH2(url("/"), ["-D", "-"], "down");
    assert.equal(refused.status, 502);
    assert.match(refused.body, /x-meshlet-error: connect-refused/);
    const reset = await curlH2(url("/reset"), ["-D", "-"], "grpcish");
    assert.equal(reset.status, 502);
    assert.match(reset.body, /x-meshlet-error: upstream-reset/);
  });
});
