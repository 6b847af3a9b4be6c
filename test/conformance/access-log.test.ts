// One JSON access-log line per request on stdout, with the documented fields.
import assert from "node:assert/strict";
import { describe } from "node:test";
import * as h from "./harness.ts";

describe(`access log [${h.runtime}]`, { timeout: 60_000 }, () => {
  const f = h.webFixture((up) => h.makeConfig({ services: [{ name: "web", endpoints: [up.addr] }, { name: "empty", hostnames: ["empty"], endpoints: [] }] }));
  const t = f.test;

  t("a proxied request is logged with every field", async () => {
    const r = await h.httpRequest({ port: f.proxy.outbound, method: "POST", path: "/log-me?x=1", body: "12345" });
    assert.equal(r.status, 200);
    const line = await h.waitFor(() => f.proxy.accessLog().find((l) => l.path.startsWith("/log-me")), 3000, "the access-log line");
    assert.equal(typeof line.time, "string");
    assert.ok(!Number.isNaN(Date.parse(line.time)), `time ${line.time}`);
    assert.equal(line.direction, "outbound");
    assert.equal(line.method, "POST");
    assert.equal(line.authority.replace(/:\d+$/, ""), "web");
    // the query may be left out (it can carry secrets); the path itself must be exact
    assert.ok(["/log-me", "/log-me?x=1"].includes(line.path), `path ${line.path}`);
    assert.equal(line.status, 200);
    assert.equal(typeof line.duration_ms, "number");
    assert.ok(line.duration_ms >= 0);
    assert.equal(line.endpoint, f.up.addr);
    assert.equal(line.request_bytes, 5);
    assert.equal(line.response_bytes, r.body.length);
    assert.equal(line.error, undefined);
  });

  t("a proxy-made error is logged with its error", async () => {
    const r = await h.httpRequest({ port: f.proxy.outbound, host: "empty", path: "/err-log" });
    assert.equal(r.status, 503);
    const line = await h.waitFor(() => f.proxy.accessLog().find((l) => l.path === "/err-log"), 3000, "the access-log line");
    assert.equal(line.status, 503);
    assert.equal(typeof line.error, "string");
    assert.ok(line.error!.length > 0);
  });

  t("one line per request; inbound requests say direction inbound", async () => {
    const before = f.proxy.accessLog().length;
    for (let i = 0; i < 4; i++) await h.httpRequest({ port: f.proxy.outbound, path: `/count/${i}` });
    await h.httpRequest({ port: f.proxy.port("inbound"), host: "app.local", path: "/inbound-log" }).catch(() => undefined);
    await h.waitFor(() => f.proxy.accessLog().length >= before + 5, 3000, "5 more access-log lines");
    await h.sleep(200);
    const lines = f.proxy.accessLog().slice(before);
    assert.equal(lines.filter((l) => l.path.startsWith("/count/")).length, 4);
    const inbound = lines.find((l) => l.path === "/inbound-log");
    assert.ok(inbound);
    assert.equal(inbound.direction, "inbound");
  });

  t("stdout carries only JSON lines", async () => {
    for (const l of f.proxy.stdoutLines) assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
  });
});
