// Hop-by-hop headers are removed in both directions; end-to-end headers pass.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`hop-by-hop headers [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("request hop-by-hop headers do not reach the upstream", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send(
        "GET /hop HTTP/1.1\r\nHost: web\r\n" +
          "Connection: keep-alive, X-Custom-Hop, x-other-hop\r\n" +
          "X-Custom-Hop: 1\r\nX-Other-Hop: 2\r\n" +
          "Keep-Alive: timeout=5\r\n" +
          "Proxy-Connection: keep-alive\r\n" +
          "TE: trailers\r\n" +
          "Trailer: x-foo\r\n" +
          "Upgrade: h2c\r\n" +
          "X-End-To-End: kept\r\n\r\n",
      );
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      const got = JSON.parse(r.body.toString()).headers as Record<string, string>;
      for (const name of ["x-custom-hop", "x-other-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]) {
        assert.equal(got[name], undefined, `${name} reached the upstream: ${JSON.stringify(got)}`);
      }
      const conn = (got.connection ?? "").toLowerCase();
      assert.ok(!conn.includes("x-custom-hop") && !conn.includes("upgrade"), `connection reached upstream: ${conn}`);
      assert.equal(got["x-end-to-end"], "kept");
      assert.equal(got.host?.replace(/:\d+$/, ""), "web");
    } finally {
      c.destroy();
    }
  });

  t("response hop-by-hop headers do not reach the client", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET /hop-response HTTP/1.1\r\nHost: web\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), "ok");
      assert.equal(h.header(r, "x-resp-hop"), undefined, r.head);
      assert.equal(h.header(r, "proxy-connection"), undefined, r.head);
      assert.ok(!(h.header(r, "connection") ?? "").toLowerCase().includes("x-resp-hop"), r.head);
      assert.equal(h.header(r, "x-end-to-end"), "kept");
    } finally {
      c.destroy();
    }
  });

  t("Transfer-Encoding is re-framed: a content-length request stays intact", async () => {
    const r = await h.httpRequest({ port: f.proxy.outbound, method: "POST", path: "/cl", body: "0123456789" });
    const j = JSON.parse(r.body.toString());
    assert.equal(j.bodyBytes, 10);
    assert.ok(!(j.headers["transfer-encoding"] && j.headers["content-length"]), `both CL and TE sent upstream: ${JSON.stringify(j.headers)}`);
  });
});
