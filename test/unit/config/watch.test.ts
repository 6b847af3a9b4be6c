import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfigFile, watchConfigFile, type ConfigWatcher } from "../../../adapters/shared/config-file.ts";
import type { ConfigIssue } from "../../../core/config/parse.ts";
import type { MeshletConfig } from "../../../core/config/types.ts";

const cfg = (port: number, comment = "") => `${comment}outbound: { port: ${port} }\nservices: [{ name: web, endpoints: ["127.0.0.1:9001"] }]\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records callbacks; next() resolves with the next one (or "timeout"). */
function recorder() {
  const events: string[] = [];
  let waiter: ((e: string) => void) | undefined;
  const push = (e: string) => {
    events.push(e);
    waiter?.(e);
    waiter = undefined;
  };
  return {
    events,
    onValid: (c: MeshletConfig) => push(`valid:${c.outbound.port}`),
    onInvalid: (issues: ConfigIssue[]) => push(`invalid:${issues.map((i) => i.path).join(",")}`),
    next(ms = 3000): Promise<string> {
      return new Promise((resolve) => {
        const t = setTimeout(() => resolve("timeout"), ms);
        waiter = (e) => {
          clearTimeout(t);
          resolve(e);
        };
      });
    },
  };
}

for (const mode of ["fs.watch", "poll only"] as const) {
  describe(`watchConfigFile (${mode})`, () => {
    let dir: string;
    let file: string;
    let watcher: ConfigWatcher;
    const rec = recorder();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "meshlet-config-"));
      file = join(dir, "meshlet.yaml");
      writeFileSync(file, cfg(4140));
      const loaded = await loadConfigFile(file);
      assert.equal(loaded.ok, true);
      watcher = watchConfigFile(file, rec.onValid, rec.onInvalid, {
        debounceMs: 50,
        missingGraceMs: 600,
        fsWatch: mode === "fs.watch",
        pollMs: mode === "fs.watch" ? 0 : 100,
        initialText: loaded.ok ? loaded.text : undefined,
      });
      await sleep(100);
    });
    after(() => {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("a valid write is applied", async () => {
      const next = rec.next();
      writeFileSync(file, cfg(5000));
      assert.equal(await next, "valid:5000");
    });

    it("an invalid write goes to onInvalid, and nothing to onValid", async () => {
      const next = rec.next();
      writeFileSync(file, "outbound: { port: nope }\nservices: []\n");
      assert.equal(await next, "invalid:outbound.port");
      assert.equal(await rec.next(400), "timeout", "reported once, no valid callback");
    });

    it("a rename over the file (editors, atomic writes) is applied", async () => {
      const next = rec.next();
      writeFileSync(join(dir, ".meshlet.yaml.tmp"), cfg(6000));
      renameSync(join(dir, ".meshlet.yaml.tmp"), file);
      assert.equal(await next, "valid:6000");
    });

    it("a file briefly missing is not an error; its return is applied", async () => {
      const next = rec.next();
      rmSync(file);
      await sleep(200);
      writeFileSync(file, cfg(7000));
      assert.equal(await next, "valid:7000");
    });

    it("an unchanged config (only a comment changed) is not re-applied", async () => {
      const next = rec.next(500);
      writeFileSync(file, cfg(7000, "# a comment\n"));
      assert.equal(await next, "timeout");
    });

    it("a file missing for longer is reported once, and its return applied", async () => {
      let next = rec.next();
      rmSync(file);
      assert.equal(await next, "invalid:");
      assert.equal(await rec.next(300), "timeout");
      next = rec.next();
      writeFileSync(file, cfg(8000));
      assert.equal(await next, "valid:8000");
    });

    it("close() stops callbacks", async () => {
      watcher.close();
      const next = rec.next(400);
      writeFileSync(file, cfg(9000));
      assert.equal(await next, "timeout");
      assert.deepEqual(rec.events, ["valid:5000", "invalid:outbound.port", "valid:6000", "valid:7000", "invalid:", "valid:8000"]);
    });
  });
}

describe("loadConfigFile", () => {
  it("tells unreadable from invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meshlet-config-"));
    try {
      const missing = await loadConfigFile(join(dir, "nope.yaml"));
      assert.equal(missing.ok, false);
      if (!missing.ok) assert.equal(missing.reason, "unreadable");
      writeFileSync(join(dir, "bad.yaml"), "admin: [");
      const bad = await loadConfigFile(join(dir, "bad.yaml"));
      assert.equal(bad.ok, false);
      if (!bad.ok) assert.equal(bad.reason, "invalid");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
