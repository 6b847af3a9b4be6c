// Client connections: a request head that does not complete within clientTimeouts.header gets 408 and the
// connection closes (slow-headers attacks hold nothing for long); a keep-alive connection left idle between
// requests closes after clientTimeouts.idle, a busy one stays open; a client's FIN cancels its request in flight
// (the upstream sees the close at once), unless clientHalfClose asks to answer half-closed clients.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`client connections [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, slow: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined, halfClose: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    a = await h.startUpstream();
    slow = await h.startScriptedUpstream(() => ({ delayMs: 400 }));
    const services = [{ name: "web", endpoints: [a.addr] }, { name: "slow", endpoints: [slow.addr], maxPending: 1 }];
    [proxy, halfClose] = await Promise.all([
      h.startProxy(h.makeConfig({ services, overrides: { clientTimeouts: { header: "600ms", idle: "1500ms" } } })),
      h.startProxy(h.makeConfig({ services, overrides: { clientHalfClose: true } })),
    ]);
  });
  after(async () => {
    await Promise.all([proxy?.stop(), halfClose?.stop()]);
    await Promise.all([a?.close(), slow?.close()]);
  });

  t("a client's FIN cancels its request: the upstream sees the close, the pending slot is free again", async () => {
    slow.behave = () => ({ hang: true });
    const c = await h.RawConn.open(proxy!.outbound);
    c.send("GET /gave-up HTTP/1.1\r\nHost: slow\r\n\r\n");
    await h.waitFor(() => (slow.count("/gave-up") === 1 ? true : undefined), 3000, "the request to reach the upstream");
    const finAt = performance.now();
    c.end();
    await c.waitClose(3000);
    const r = await h.waitFor(() => slow.requests.find((q) => q.url === "/gave-up" && q.abortedAt !== undefined), 3000, "the upstream to see the close");
    assert.ok(r.abortedAt! - finAt < 500, `the upstream saw the close ${Math.round(r.abortedAt! - finAt)} ms after the FIN`);
    slow.behave = () => ({});
    const next = await h.curl(["-H", "Host: slow", `http://127.0.0.1:${proxy!.outbound}/next`]);
    assert.equal(next.status, 200, `after the cancel (maxPending 1): ${next.status} ${h.header(next, "x-meshlet-error")}`);
  });

  t("with clientHalfClose a half-closed client still gets its answer", async () => {
    slow.behave = () => ({ delayMs: 300 });
    const c = await h.RawConn.open(halfClose!.outbound);
    c.send("GET /half HTTP/1.1\r\nHost: slow\r\n\r\n");
    c.end();
    const res = await c.readResponse({ timeoutMs: 5000 });
    assert.equal(res.status, 200);
    await c.waitClose(3000);
  });

  t("a request head that stalls gets 408 header-timeout, then the connection closes", async () => {
    const c = await h.RawConn.open(proxy!.outbound);
    const started = Date.now();
    c.send("GET /slow HTTP/1.1\r\nHost: web\r\nX-Partial: ");
    const r = await c.readResponse({ timeoutMs: 5000 });
    const elapsed = Date.now() - started;
    assert.equal(r.status, 408);
    assert.equal(h.header(r, "x-meshlet-error"), "header-timeout");
    assert.ok(elapsed >= 500 && elapsed < 3000, `408 after ${elapsed} ms with a 600 ms header timeout`);
    await c.waitClose(3000);
    assert.ok(!a.requests.some((q) => q.url === "/slow"), "the stalled request reached the upstream");
  });

  t("an idle keep-alive connection closes after the idle timeout; a busy one stays open", async () => {
    const idle = await h.RawConn.open(proxy!.outbound);
    const busy = await h.RawConn.open(proxy!.outbound);
    const started = Date.now();
    idle.send("GET /once HTTP/1.1\r\nHost: web\r\n\r\n");
    assert.equal((await idle.readResponse()).status, 200);
    // The busy connection sends a request every 300 ms for longer than the idle timeout.
    for (let i = 0; i < 8; i++) {
      busy.send(`GET /busy/${i} HTTP/1.1\r\nHost: web\r\n\r\n`);
      assert.equal((await busy.readResponse()).status, 200, `busy request ${i}`);
      await h.sleep(300);
    }
    await idle.waitClose(3000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400, `idle connection closed after ${elapsed} ms with a 1500 ms idle timeout`);
    assert.equal(busy.closed || busy.ended, false, "the busy connection was closed");
    busy.send("GET /still-open HTTP/1.1\r\nHost: web\r\n\r\n");
    assert.equal((await busy.readResponse()).status, 200);
    busy.destroy();
  });
});
