// The command line: --help on every command, --version, and clear usage errors.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`cli [${h.runtime}]`, { timeout: 60_000 }, () => {
  for (const [args, expect] of [
    [["--help"], /Usage: meshlet <command>/],
    [["proxy", "--help"], /Usage: meshlet proxy -c FILE/],
    [["check-config", "--help"], /Usage: meshlet check-config FILE/],
    [["demo", "--help"], /Usage: meshlet demo/],
    [["help", "proxy"], /Usage: meshlet proxy -c FILE/],
  ] as const) {
    test(`meshlet ${args.join(" ")} prints its help and exits 0`, async () => {
      const { code, stdout, p } = await h.runCli([...args]);
      assert.equal(code, 0, `exit ${code}${p.diagnostics()}`);
      assert.match(stdout, expect);
    });
  }

  test("--version prints the package version", async () => {
    const { code, stdout } = await h.runCli(["--version"]);
    assert.equal(code, 0);
    assert.match(stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  test("an unknown command or a missing -c is a usage error (exit 2) with help on stderr", async () => {
    const a = await h.runCli(["frobnicate"]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /unknown command frobnicate/);
    const b = await h.runCli(["proxy"]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /missing -c FILE[\s\S]*Usage: meshlet proxy/);
  });
});
