import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { checkConfigCommand } from "../../../adapters/shared/check-config.ts";

const dir = mkdtempSync(join(tmpdir(), "meshlet-check-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(path: string): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await checkConfigCommand(path, (l) => lines.push(l));
  return { code, lines };
}

describe("checkConfigCommand", () => {
  it("0 and a one-line summary for a valid file (the bundled example)", async () => {
    const example = fileURLToPath(new URL("../../../examples/meshlet.yaml", import.meta.url));
    const { code, lines } = await run(example);
    assert.equal(code, 0);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /: valid; 2 services \(4 endpoints\), outbound 127\.0\.0\.1:4140, inbound 0\.0\.0\.0:4143 -> 127\.0\.0\.1:8080, admin 127\.0\.0\.1:4191$/);
  });

  it("1 and every issue for an invalid file", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "admin: { port: -1 }\nservices:\n  - name: web\n    endpoints: [nope]\n");
    const { code, lines } = await run(file);
    assert.equal(code, 1);
    assert.deepEqual(lines, [
      `${file}: invalid configuration, 2 problems:`,
      `  ${file}:1:16: admin.port: expected a port (an integer 0..65535), received -1`,
      `  ${file}:4:17: services[0].endpoints[0]: expected an address "host:port" (IPv6 as "[::1]:80") or a mapping {host, port}, received "nope" (missing :port)`,
    ]);
  });

  it("1 for a syntax error, with its position", async () => {
    const file = join(dir, "syntax.yaml");
    writeFileSync(file, "admin: {\n");
    const { code, lines } = await run(file);
    assert.equal(code, 1);
    assert.match(lines[1]!, /syntax.yaml:\d+:\d+: \(top level\): YAML syntax error: /);
  });

  it("2 for a file that cannot be read", async () => {
    const { code, lines } = await run(join(dir, "missing.yaml"));
    assert.equal(code, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /cannot read .*missing\.yaml: .*ENOENT/);
  });
});
