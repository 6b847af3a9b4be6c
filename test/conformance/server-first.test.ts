// A server-first TCP protocol (the upstream speaks first) through an opaque service listener.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`server-first TCP via services[].listen opaque [${h.runtime}]`, { timeout: 60_000 }, () => {
  let smtp: h.TcpUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));

  before(async () => {
    // an SMTP-like dialogue: greeting first, then one reply per line, QUIT closes
    smtp = await h.startTcpUpstream((s) => {
      s.write(`220 smtp.test ready ${smtp.port}\r\n`);
      let buf = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf("\r\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (line === "QUIT") s.end("221 bye\r\n");
          else s.write(`250 ok ${line}\r\n`);
        }
      });
    });
    proxy = await h.startProxy(
      h.makeConfig({ services: [{ name: "smtp", hostnames: ["smtp"], endpoints: [smtp.addr], listen: { port: 0, protocol: "opaque" } }] }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await smtp?.close();
  });

  t("the greeting arrives before the client sends anything; dialogue and close", async () => {
    const c = await h.RawConn.open(proxy!.port("service:smtp"));
    try {
      await c.until(() => (c.buf.includes("\r\n") ? true : undefined), 3000, "the server greeting");
      assert.equal(c.buf.toString("latin1"), `220 smtp.test ready ${smtp.port}\r\n`);
      c.buf = Buffer.alloc(0);
      c.send("HELO client\r\n");
      await c.until(() => (c.buf.includes("\r\n") ? true : undefined), 3000, "the HELO reply");
      assert.equal(c.buf.toString("latin1"), "250 ok HELO client\r\n");
      c.buf = Buffer.alloc(0);
      c.send("QUIT\r\n");
      await c.waitClose(3000);
      assert.equal(c.buf.toString("latin1"), "221 bye\r\n");
    } finally {
      c.destroy();
    }
  });

  t("an HTTP-looking client on the opaque port is still proxied byte for byte", async () => {
    const c = await h.RawConn.open(proxy!.port("service:smtp"));
    try {
      await c.until(() => (c.buf.includes("\r\n") ? true : undefined), 3000, "the server greeting");
      c.buf = Buffer.alloc(0);
      c.send("GET / HTTP/1.1\r\n");
      await c.until(() => (c.buf.includes("\r\n") ? true : undefined), 3000, "the reply");
      assert.equal(c.buf.toString("latin1"), "250 ok GET / HTTP/1.1\r\n");
    } finally {
      c.destroy();
    }
  });
});
