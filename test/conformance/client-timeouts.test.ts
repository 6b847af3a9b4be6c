// Client connection timeouts: a request head that does not complete within clientTimeouts.header gets 408 and the
// connection closes (slow-headers attacks hold nothing for long); a keep-alive connection left idle between
// requests closes after clientTimeouts.idle; a connection that keeps sending requests stays open.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`client timeouts [${h.runtime}]`, { timeout: 60_000 }, () => {
  let a: h.Upstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    a = await h.startUpstream();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [{ name: "web", endpoints: [a.addr] }],
        overrides: { clientTimeouts: { header: "600ms", idle: "1500ms" } },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await a?.close();
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
