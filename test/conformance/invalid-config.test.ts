// An invalid config at startup: non-zero exit, every bad field named on stderr, nothing listening.
// `meshlet check-config FILE` exits 0 for a valid file and 1 for an invalid one.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import * as h from "./harness.ts";

/** Normalises `services[0].endpoints[0]`, `/services/0/endpoints/0` and `services.0.endpoints.0` to the last. */
const normPaths = (s: string) => s.replace(/\[(\d+)\]/g, ".$1").replace(/\/(?=[\w])/g, ".").replace(/\[["'](\w+)["']\]/g, ".$1");

const bad = {
  admin: { port: "abc" },
  outbound: { port: 70000 },
  inbound: { port: 0, app: "127.0.0.1:8080" },
  services: [
    { name: "web", hostnames: ["web"], endpoints: ["not an address"] },
    { hostnames: ["x"], endpoints: [] },
  ],
};
const badPaths = ["admin.port", "outbound.port", "services.0.endpoints.0", "services.1.name"];

const good = h.makeConfig({ services: [{ name: "web", endpoints: ["127.0.0.1:1"] }] });

function file(name: string, content: string): string {
  const p = h.tempPath(name);
  writeFileSync(p, content);
  return p;
}

describe(`invalid config [${h.runtime}]`, { timeout: 90_000 }, () => {
  test("proxy -c BAD exits non-zero, names every bad field, never gets ready", async () => {
    const { code, stdout, stderr, p } = await h.runCli(["proxy", "-c", file("bad.json", JSON.stringify(bad))]);
    assert.notEqual(code, 0, `exit ${code}${p.diagnostics()}`);
    assert.notEqual(code, null, `killed by the harness timeout${p.diagnostics()}`);
    assert.ok(!stdout.includes('"ready"'), `printed a ready line${p.diagnostics()}`);
    const norm = normPaths(stderr);
    for (const path of badPaths) assert.ok(norm.includes(path), `stderr does not name ${path}${p.diagnostics()}`);
  });

  test("proxy -c with unparseable YAML exits non-zero", async () => {
    const { code, stdout, p } = await h.runCli(["proxy", "-c", file("broken.yaml", "admin: { port: 0\nservices: [\n")]);
    assert.ok(code !== 0 && code !== null, `exit ${code}${p.diagnostics()}`);
    assert.ok(!stdout.includes('"ready"'));
  });

  test("proxy -c with a missing file exits non-zero", async () => {
    const { code, p } = await h.runCli(["proxy", "-c", h.tempPath("does-not-exist.yaml")]);
    assert.ok(code !== 0 && code !== null, `exit ${code}${p.diagnostics()}`);
  });

  test("check-config: 1 and the field paths for a bad file, 0 for a good one (JSON and YAML)", async () => {
    const b = await h.runCli(["check-config", file("check-bad.json", JSON.stringify(bad))]);
    assert.equal(b.code, 1, `exit ${b.code}${b.p.diagnostics()}`);
    const out = normPaths(b.stdout + b.stderr);
    for (const path of badPaths) assert.ok(out.includes(path), `check-config does not name ${path}${b.p.diagnostics()}`);

    const g = await h.runCli(["check-config", file("check-good.json", JSON.stringify(good))]);
    assert.equal(g.code, 0, `exit ${g.code}${g.p.diagnostics()}`);

    const yaml = [
      "admin: { port: 0 }",
      "outbound: { port: 0 }",
      'inbound: { port: 0, app: "127.0.0.1:8080" }',
      "services:",
      "  - name: web",
      "    hostnames: [web, web.default.svc.cluster.local]",
      '    endpoints: ["127.0.0.1:9001", "127.0.0.1:9002"]',
      "",
    ].join("\n");
    const y = await h.runCli(["check-config", file("check-good.yaml", yaml)]);
    assert.equal(y.code, 0, `exit ${y.code}${y.p.diagnostics()}`);
  });

  test("a YAML config starts the proxy", async () => {
    const yaml = ["admin: { port: 0 }", "outbound: { port: 0 }", 'inbound: { port: 0, app: "127.0.0.1:9" }', "services:", "  - name: web", "    hostnames: [web]", '    endpoints: ["127.0.0.1:1"]', ""].join("\n");
    const p = await h.startProxy(yaml, { fileName: "start.yaml" });
    try {
      assert.ok(p.outbound > 0);
    } finally {
      await p.stop();
    }
  });
});
