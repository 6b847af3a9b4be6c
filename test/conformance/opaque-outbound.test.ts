// Non-HTTP traffic on the outbound port goes to outbound.opaqueService, byte for byte, with half-close.
import assert from "node:assert/strict";
import type net from "node:net";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

/** Client bytes that cannot start an HTTP/1 request line, an HTTP/2 preface or a TLS record. */
const opaque = (n: number) => Buffer.concat([Buffer.from([0xff, 0x00, 0x01, 0x02]), randomBytes(n)]);

describe(`opaque TCP on the outbound port [${h.runtime}]`, { timeout: 60_000 }, () => {
  let tcp: h.TcpUpstream, web: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  let behaviour: (s: net.Socket) => void = () => undefined;

  before(async () => {
    tcp = await h.startTcpUpstream((s) => behaviour(s));
    web = await h.startUpstream();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", endpoints: [web.addr] },
          { name: "raw", hostnames: ["raw"], endpoints: [tcp.addr] },
        ],
        overrides: { outbound: { port: 0, opaqueService: "raw" } },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([tcp?.close(), web?.close()]);
  });

  t("client half-closes first: the upstream sees EOF and can still answer", async () => {
    // upstream: read everything until EOF, then reply with the count and a hash, then close
    behaviour = (s) => {
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("end", () => {
        const all = Buffer.concat(chunks);
        setTimeout(() => s.end(`got ${all.length} ${h.sha256(all)}\n`), 100);
      });
    };
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      const data = opaque(300_000);
      c.send(data);
      c.end();
      await c.waitClose(5000);
      assert.equal(c.error, undefined);
      assert.equal(c.buf.toString(), `got ${data.length} ${h.sha256(data)}\n`);
    } finally {
      c.destroy();
    }
  });

  t("upstream half-closes first: the client sees EOF and can still send", async () => {
    // upstream: on the first bytes, answer and close its write side; keep reading until EOF and report via a side channel
    let upstreamGot = -1;
    behaviour = (s) => {
      let n = 0;
      s.once("data", () => s.end("server done\n"));
      s.on("data", (d: Buffer) => (n += d.length));
      s.on("end", () => {
        upstreamGot = n;
        s.destroy();
      });
    };
    const c = await h.RawConn.open(proxy!.outbound);
    try {
      const first = opaque(100);
      c.send(first);
      await c.until(() => (c.ended ? true : undefined), 5000, "EOF from the upstream");
      assert.equal(c.buf.toString(), "server done\n");
      assert.equal(c.closed, false, "the proxy closed both directions instead of half-closing");
      const more = Buffer.alloc(50_000, 7);
      c.send(more);
      c.end();
      await h.waitFor(() => upstreamGot >= 0, 5000, "the upstream to see the client's EOF");
      assert.equal(upstreamGot, first.length + more.length);
    } finally {
      c.destroy();
    }
  });

  t("HTTP on the same port still routes by Host", async () => {
    const r = await h.httpRequest({ port: proxy!.outbound, path: "/still-http" });
    assert.equal(r.status, 200);
    assert.equal(r.headers["x-upstream"], String(web.port));
  });
});
