// The identity source (adapters/shared/identity-source.ts) on each runtime: it uses node:fs (reads, fs.watch,
// stat, rename, chmod) and WebCrypto, whose behaviour differs between Node, Bun and Deno. node.test.ts,
// bun.test.ts and deno.test.ts import this file; the cases run under the runtime's name with its own Clock.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LocalCa } from "../../adapters/shared/certs.ts";
import { startIdentitySource, type IdentitySource } from "../../adapters/shared/identity-source.ts";
import { pemToDer, peerSpiffeId } from "../../core/identity/certificate-info.ts";
import type { TlsCredentials } from "../../core/identity/credentials.ts";
import type { Runtime } from "../../core/ports.ts";
import { runtimeName, sleep, waitFor, WEB } from "../support/identity-fixtures.ts";

/** A temp dir whose files are written as a new file renamed over the old one; removed after fn. */
async function withDir(fn: (dir: string, put: (name: string, text: string) => void) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "meshlet-identity-"));
  try {
    await fn(dir, (name, text) => {
      writeFileSync(join(dir, `.${name}.tmp`), text);
      renameSync(join(dir, `.${name}.tmp`), join(dir, name));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Case {
  name: string;
  run(rt: Runtime): Promise<void>;
}

const cases: Case[] = [
  {
    name: "files mode: starts from the files and takes a rewritten certificate and key",
    async run(rt) {
      await withDir(async (dir, put) => {
        const ca = await LocalCa.create({ trustDomain: "example.org" });
        const first = await ca.issueFor(WEB);
        put("ca.pem", ca.rootPem);
        put("cert.pem", first.certPem);
        put("key.pem", first.keyPem);
        const seen: TlsCredentials[] = [];
        const warnings: string[] = [];
        let source: IdentitySource | undefined;
        try {
          source = await startIdentitySource({
            config: { id: WEB, trustAnchorsFile: "ca.pem", certFile: "cert.pem", keyFile: "key.pem" },
            baseDir: dir,
            clock: rt.clock,
            onCredentials: (c) => void seen.push(c),
            log: (level, msg, fields) => void (level !== "info" && warnings.push(`${msg} ${JSON.stringify(fields)}`)),
            watch: { debounceMs: 30, pollMs: 100 },
          });
          assert.equal(seen.length, 1);
          assert.equal(source.current.certChainPem, first.certPem);
          const next = await ca.issueFor(WEB, { notBefore: first.notBefore + 1000, notAfter: first.notAfter + 60_000 });
          put("cert.pem", next.certPem);
          put("key.pem", next.keyPem);
          await waitFor("the rotation", () => seen.length === 2);
          assert.equal(source.current.certChainPem, next.certPem);
          assert.equal(source.current.keyPem, next.keyPem);
          assert.equal(source.current.notAfter, next.notAfter);
          assert.deepEqual(warnings, []);
        } finally {
          source?.close();
        }
      });
    },
  },
  {
    name: "issuer mode: a generated key certified by the CA files, written to keyOutFile (0600)",
    async run(rt) {
      await withDir(async (dir, put) => {
        const ca = await LocalCa.create({ trustDomain: "example.org", extractable: true });
        put("ca.pem", ca.rootPem);
        put("ca.key", await ca.rootKeyPem());
        let source: IdentitySource | undefined;
        try {
          source = await startIdentitySource({
            config: { id: WEB, trustAnchorsFile: "ca.pem", issuer: { certFile: "ca.pem", keyFile: "ca.key", lifetimeMs: 3_600_000 }, keyOutFile: "proxy.key" },
            baseDir: dir,
            clock: rt.clock,
            onCredentials: () => {},
            log: () => {},
          });
          const c = source.current;
          assert.equal(c.id, WEB);
          const san = peerSpiffeId(pemToDer(c.certChainPem)[0]!);
          assert.equal(san.ok && san.id.toString(), WEB);
          assert.equal(c.trustAnchorsPem, ca.rootPem);
          assert.ok(c.notBefore <= Date.now() && Date.now() < c.notAfter);
          assert.ok(c.notAfter - c.notBefore > 3_600_000 - 1000);
          assert.equal(readFileSync(join(dir, "proxy.key"), "utf8"), c.keyPem);
          assert.equal(statSync(join(dir, "proxy.key")).mode & 0o777, 0o600);
        } finally {
          source?.close();
        }
      });
    },
  },
];

// A computed specifier, so the Node typecheck does not follow the Bun and Deno adapters.
const adapter = `../../adapters/${runtimeName}/runtime.ts`;
const { createRuntime } = (await import(adapter)) as { createRuntime(): Runtime };
const rt = createRuntime();
for (const c of cases) test(`${runtimeName}: identity source: ${c.name}`, () => c.run(rt));
