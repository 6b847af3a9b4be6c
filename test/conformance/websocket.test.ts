// WebSocket (HTTP/1.1 Upgrade) through the proxy, using the ws package on both ends.
import assert from "node:assert/strict";
import { describe } from "node:test";
import WebSocket from "ws";
import * as h from "./harness.ts";

function openWs(port: number, path: string): Promise<{ ws: WebSocket; messages: string[]; next(): Promise<string> }> {
  return h.withTimeout(
    new Promise((res, rej) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host: "web" } });
      const messages: string[] = [];
      const waiters: Array<(m: string) => void> = [];
      ws.on("message", (d) => {
        const m = d.toString();
        const w = waiters.shift();
        if (w) w(m);
        else messages.push(m);
      });
      const next = () =>
        h.withTimeout(
          new Promise<string>((r) => {
            const m = messages.shift();
            if (m !== undefined) r(m);
            else waiters.push(r);
          }),
          5000,
          "a websocket message",
        );
      ws.once("open", () => res({ ws, messages, next }));
      ws.once("error", rej);
      ws.once("unexpected-response", (_req, r) => rej(new Error(`upgrade answered ${r.statusCode} ${JSON.stringify(r.headers)}`)));
    }),
    5000,
    "websocket open",
  );
}

describe(`websocket [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("upgrade, server-first message, echo text and binary, clean close", async () => {
    const { ws, next } = await openWs(f.proxy.outbound, "/ws");
    try {
      assert.equal(await next(), `hello from ${f.up.port}`);
      ws.send("ping 1");
      assert.equal(await next(), "ping 1");
      const big = "x".repeat(200_000);
      ws.send(big);
      assert.equal(await next(), big);
      const closed = h.withTimeout(new Promise<number>((r) => ws.once("close", (code) => r(code))), 5000, "websocket close");
      ws.close(1000, "bye");
      assert.equal(await closed, 1000);
    } finally {
      ws.terminate();
    }
    const up = f.up.requests.find((r) => r.url === "/ws");
    assert.ok(up, "the upgrade request reached the upstream");
    assert.equal(String(up.headers.upgrade).toLowerCase(), "websocket");
  });

  t("several concurrent websockets stay independent", async () => {
    const socks = await Promise.all([1, 2, 3].map((i) => openWs(f.proxy.outbound, `/ws${i}`)));
    try {
      for (const s of socks) assert.match(await s.next(), /^hello from/);
      socks.forEach((s, i) => s.ws.send(`m${i}`));
      for (let i = 0; i < socks.length; i++) assert.equal(await socks[i]!.next(), `m${i}`);
    } finally {
      for (const s of socks) s.ws.terminate();
    }
  });
});
