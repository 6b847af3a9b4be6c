// Chunked request bodies (curl) and chunked responses with trailers.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`chunked [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture();
  const t = f.test;

  t("curl chunked upload arrives intact", async () => {
    const data = randomBytes(300_000);
    const r = await h.curl(
      ["-H", "Host: web", "-H", "Transfer-Encoding: chunked", "--data-binary", "@-", `http://127.0.0.1:${f.proxy.outbound}/upload`],
      { input: data },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.status, 200);
    const j = JSON.parse(r.body.toString());
    assert.equal(j.method, "POST");
    assert.equal(j.bodyBytes, data.length);
    assert.equal(j.bodySha256, h.sha256(data));
  });

  t("a raw chunked request with extensions and a trailer is re-framed correctly", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send(
        "POST /raw-chunked HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n" +
          "5;ext=1\r\nhello\r\n" +
          "6\r\n world\r\n" +
          "0\r\nx-req-trailer: t\r\n\r\n",
      );
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      const j = JSON.parse(r.body.toString());
      assert.equal(j.bodyBytes, 11);
      assert.equal(j.bodySha256, h.sha256(Buffer.from("hello world")));
    } finally {
      c.destroy();
    }
  });

  t("an empty chunked body", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("POST /empty HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body.toString()).bodyBytes, 0);
    } finally {
      c.destroy();
    }
  });

  t("a chunked response keeps its body and trailers", async () => {
    const r = await h.httpRequest({ port: f.proxy.outbound, path: "/trailers", headers: { te: "trailers" } });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "hello world");
    assert.equal(r.trailers["x-trailer"], "yes", `trailers: ${JSON.stringify(r.trailers)}`);
  });

  t("a chunked response (no content-length) streams through to a raw client", async () => {
    const c = await h.RawConn.open(f.proxy.outbound);
    try {
      c.send("GET /bytes/100000?chunked HTTP/1.1\r\nHost: web\r\n\r\n");
      const r = await c.readResponse();
      assert.equal(r.status, 200);
      assert.equal(r.body.length, 100000);
      assert.equal(h.sha256(r.body), h.patternSha256(100000));
    } finally {
      c.destroy();
    }
  });
});
