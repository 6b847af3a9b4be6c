// The identity source (adapters/shared/identity-source.ts) on Node, with real temp files: files mode (checks at
// start, rotation by rewriting files, a bad rewrite kept out), issuer mode (issuance, renewal at 70 % on a fake
// clock, keyOutFile, retries), and the CA pieces it stands on (LocalCa.fromPem, rootKeyPem, verifyChain).
// node:crypto's X509Certificate and the openssl CLI judge what was issued, independently of @peculiar/x509.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { X509Certificate, createPublicKey } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CertError, LocalCa, isCertError, verifyChain } from "../../../adapters/shared/certs.ts";
import {
  IdentitySourceError,
  renewalRetryDelayMs,
  startIdentitySource,
  type IdentitySource,
  type IdentitySourceOptions,
} from "../../../adapters/shared/identity-source.ts";
import { createClock } from "../../../adapters/shared/unref-clock.ts";
import type { IdentityConfig } from "../../../core/config/identity-schema.ts";
import { pemToDer, peerSpiffeId } from "../../../core/identity/certificate-info.ts";
import type { TlsCredentials } from "../../../core/identity/credentials.ts";
import type { CertificateIssuer } from "../../../core/identity/issuer.ts";
import { RENEW_AT_PERCENT } from "../../../core/identity/rotation.ts";
import type { Clock } from "../../../core/ports.ts";
import { FakeClock } from "../../support/fake-runtime.ts";
import { hasOpenssl } from "./openssl.ts";
import { API, HOUR, sleep, TD, waitFor, WEB } from "../../support/identity-fixtures.ts";

const WATCH = { debounceMs: 30, pollMs: 100 };

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir; `put` writes a file in it the way a careful writer does (a temp file renamed over). */
function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "meshlet-identity-"));
  dirs.push(dir);
  const put = (name: string, text: string): string => {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, join(dir, name));
    return join(dir, name);
  };
  return { dir, put, path: (name: string) => join(dir, name) };
}

/** Records what the source reports. */
function recorder() {
  const creds: TlsCredentials[] = [];
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  return {
    creds,
    logs,
    warnings: () => logs.filter((l) => l.level === "warn"),
    errors: () => logs.filter((l) => l.level === "error"),
    onCredentials: (c: TlsCredentials) => void creds.push(c),
    log: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void logs.push({ level, msg, fields }),
  };
}

type Rec = ReturnType<typeof recorder>;
const sources: IdentitySource[] = [];
after(() => {
  for (const s of sources) s.close();
});

async function start(rec: Rec, o: Omit<IdentitySourceOptions, "onCredentials" | "log">): Promise<IdentitySource> {
  const s = await startIdentitySource({ ...o, onCredentials: rec.onCredentials, log: rec.log });
  sources.push(s);
  return s;
}

/** How an expected startup failure must look: an IdentitySourceError for `field` naming `file`, and `about`. */
function failsWith(field: string, file: string | undefined, about: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof IdentitySourceError, `an IdentitySourceError, got ${String(e)}`);
    assert.equal(e.field, field, e.message);
    if (file !== undefined) {
      assert.equal(e.file, file);
      assert.ok(e.message.includes(file), `the message names ${file}: ${e.message}`);
    }
    assert.match(e.message, about);
    return true;
  };
}

const leafOf = (c: TlsCredentials) => new X509Certificate(c.certChainPem);

/** node:crypto's view: `c`'s leaf is signed by `caPem` and its key is `c.keyPem`'s. */
function assertIssuedBy(c: TlsCredentials, caPem: string): void {
  const leaf = leafOf(c);
  const ca = new X509Certificate(caPem);
  assert.ok(leaf.checkIssued(ca), "the CA's name is the leaf's issuer");
  assert.ok(leaf.verify(ca.publicKey), "the CA's key signed the leaf");
  const spki = (k: Parameters<typeof createPublicKey>[0]) => createPublicKey(k).export({ type: "spki", format: "der" });
  assert.deepEqual(spki(c.keyPem), leaf.publicKey.export({ type: "spki", format: "der" }), "keyPem is the leaf's key");
}

function spiffeIdOfLeaf(c: TlsCredentials): string {
  const r = peerSpiffeId(pemToDer(c.certChainPem)[0]!);
  assert.ok(r.ok, r.ok ? "" : r.error);
  return r.id.toString();
}

// ---------------------------------------------------------------------------------------------------------------

describe("identity source, files mode", () => {
  const filesConfig: IdentityConfig = { id: WEB, trustAnchorsFile: "ca.pem", certFile: "cert.pem", keyFile: "key.pem" };

  async function fixture() {
    const ca = await LocalCa.create({ trustDomain: TD });
    const w = workdir();
    const issued = await ca.issueFor(WEB);
    w.put("ca.pem", `# the mesh root\n${ca.rootPem}`);
    w.put("cert.pem", issued.certPem);
    w.put("key.pem", issued.keyPem);
    return { ca, w, issued };
  }

  it("starts with the files' certificate, key and anchors (relative paths against baseDir)", async () => {
    const { ca, w, issued } = await fixture();
    const rec = recorder();
    const s = await start(rec, { config: filesConfig, baseDir: w.dir, clock: createClock(), watch: WATCH });
    assert.equal(rec.creds.length, 1);
    const c = rec.creds[0]!;
    assert.equal(s.current, c);
    assert.equal(c.id, WEB);
    assert.equal(c.certChainPem, issued.certPem);
    assert.equal(c.keyPem, issued.keyPem);
    assert.equal(c.trustAnchorsPem, ca.rootPem, "the anchors' certificates, without the text around them");
    assert.equal(c.notBefore, issued.notBefore);
    assert.equal(c.notAfter, issued.notAfter);
    assertIssuedBy(c, ca.rootPem);
    assert.deepEqual(rec.warnings(), []);
  });

  const now = Date.now();
  const bad: { name: string; field: string; file: string; about: RegExp; make(ca: LocalCa, put: (n: string, t: string) => string): Promise<void> }[] = [
    {
      name: "a certificate for another identity",
      field: "certFile",
      file: "cert.pem",
      about: new RegExp(`for ${API}, but identity.id is ${WEB}`),
      async make(ca, put) {
        const other = await ca.issueFor(API);
        put("cert.pem", other.certPem);
        put("key.pem", other.keyPem);
      },
    },
    {
      name: "a key that is not the certificate's",
      field: "keyFile",
      file: "key.pem",
      about: /does not belong to the certificate/,
      async make(ca, put) {
        put("key.pem", (await ca.issueFor(WEB)).keyPem);
      },
    },
    {
      name: "an expired certificate",
      field: "certFile",
      file: "cert.pem",
      about: /expired at/,
      async make(ca, put) {
        const old = await ca.issueFor(WEB, { notBefore: now - 2 * HOUR, notAfter: now - HOUR });
        put("cert.pem", old.certPem);
        put("key.pem", old.keyPem);
      },
    },
    {
      name: "a certificate not valid yet",
      field: "certFile",
      file: "cert.pem",
      about: /not valid before/,
      async make(ca, put) {
        const early = await ca.issueFor(WEB, { notBefore: now + HOUR });
        put("cert.pem", early.certPem);
        put("key.pem", early.keyPem);
      },
    },
    {
      name: "a certificate from a CA that is not a trust anchor (even with the same name)",
      field: "certFile",
      file: "cert.pem",
      about: /does not chain to the trust anchors of .*ca\.pem.*a different CA with the same name/,
      async make(_ca, put) {
        const stranger = await (await LocalCa.create({ trustDomain: TD })).issueFor(WEB);
        put("cert.pem", stranger.certPem);
        put("key.pem", stranger.keyPem);
      },
    },
    {
      name: "a missing key file",
      field: "keyFile",
      file: "key.pem",
      about: /cannot read it: ENOENT/,
      async make(_ca, put) {
        rmSync(put("key.pem", ""));
      },
    },
    {
      name: "trust anchors without a certificate",
      field: "trustAnchorsFile",
      file: "ca.pem",
      about: /no "BEGIN CERTIFICATE" block/,
      async make(_ca, put) {
        put("ca.pem", "nothing here\n");
      },
    },
    {
      name: "a certificate file that is not PEM",
      field: "certFile",
      file: "cert.pem",
      about: /no "BEGIN CERTIFICATE" block/,
      async make(_ca, put) {
        put("cert.pem", "{}");
      },
    },
  ];
  for (const b of bad) {
    it(`refuses to start with ${b.name}, naming ${b.field}`, async () => {
      const { ca, w } = await fixture();
      await b.make(ca, w.put);
      const rec = recorder();
      await assert.rejects(start(rec, { config: filesConfig, baseDir: w.dir, clock: createClock() }), failsWith(b.field, w.path(b.file), b.about));
      assert.equal(rec.creds.length, 0);
    });
  }

  it("picks up rewritten files, keeps the last good set (one warning) when a rewrite is bad", async () => {
    const { ca, w, issued } = await fixture();
    const rec = recorder();
    const s = await start(rec, { config: filesConfig, baseDir: w.dir, clock: createClock(), watch: WATCH });

    // A renewed certificate, written as cert-manager or a script would: the certificate first, then its key.
    const renewed = await ca.issueFor(WEB, { notBefore: issued.notBefore + 1000, notAfter: issued.notAfter + HOUR });
    w.put("cert.pem", renewed.certPem);
    w.put("key.pem", renewed.keyPem);
    await waitFor("the rotation", () => rec.creds.length === 2);
    assert.equal(s.current.certChainPem, renewed.certPem);
    assert.equal(s.current.keyPem, renewed.keyPem);
    assert.equal(s.current.notAfter, renewed.notAfter);
    assert.deepEqual(rec.warnings(), [], "the half-written moment (new certificate, old key) is not reported");

    // A bad rewrite: the files of another identity. One warning, the renewed set stays.
    const wrong = await ca.issueFor(API);
    w.put("cert.pem", wrong.certPem);
    w.put("key.pem", wrong.keyPem);
    await waitFor("the warning", () => rec.warnings().length === 1);
    assert.match(String(rec.warnings()[0]!.fields?.error), new RegExp(`identity.certFile ${w.path("cert.pem")}: .*${API}`));
    // The same bad content written again is not reported again.
    w.put("cert.pem", wrong.certPem);
    await sleep(400);
    assert.equal(rec.warnings().length, 1);
    assert.equal(rec.creds.length, 2);
    assert.equal(s.current.certChainPem, renewed.certPem);

    // A new trust anchors bundle (the old root and a new one) is taken with the current certificate.
    const next = await LocalCa.create({ trustDomain: "other.example" });
    w.put("cert.pem", renewed.certPem);
    w.put("key.pem", renewed.keyPem);
    w.put("ca.pem", ca.rootPem + next.rootPem);
    await waitFor("the new anchors", () => rec.creds.length === 3);
    assert.equal(s.current.trustAnchorsPem, ca.rootPem + next.rootPem);
    assert.equal(s.current.certChainPem, renewed.certPem);
    assert.equal(rec.warnings().length, 1);
  });

  it("warns at 70 % of the certificate's life, and errs once it expired, when the files were not replaced", async () => {
    const clock = new FakeClock();
    const ca = await LocalCa.create({ trustDomain: TD, now: () => clock.wallNow(), lifetimeMs: 10 * HOUR });
    const w = workdir();
    const issued = await ca.issueFor(WEB);
    w.put("ca.pem", ca.rootPem);
    w.put("cert.pem", issued.certPem);
    w.put("key.pem", issued.keyPem);
    const rec = recorder();
    await start(rec, { config: filesConfig, baseDir: w.dir, clock, watch: WATCH });
    const target = issued.notBefore + ((issued.notAfter - issued.notBefore) * RENEW_AT_PERCENT) / 100;
    clock.advance(target - clock.wallNow() - 1);
    await sleep(100);
    assert.deepEqual(rec.warnings(), []);
    clock.advance(1);
    await waitFor("the 70 % warning", () => rec.warnings().length === 1);
    assert.match(rec.warnings()[0]!.msg, /past 70 %/);
    clock.advance(issued.notAfter - clock.wallNow() + 2000);
    await waitFor("the expiry error", () => rec.errors().length === 1);
    assert.match(rec.errors()[0]!.msg, /expired/);
    assert.equal(rec.warnings().length, 1);
    assert.equal(rec.creds.length, 1);
  });

  it("takes a certificate written before it is valid once it becomes valid", async () => {
    const clock = new FakeClock();
    const ca = await LocalCa.create({ trustDomain: TD, now: () => clock.wallNow() });
    const w = workdir();
    const issued = await ca.issueFor(WEB);
    w.put("ca.pem", ca.rootPem);
    w.put("cert.pem", issued.certPem);
    w.put("key.pem", issued.keyPem);
    const rec = recorder();
    const s = await start(rec, { config: filesConfig, baseDir: w.dir, clock, watch: WATCH });
    const early = await ca.issueFor(WEB, { notBefore: clock.wallNow() + 30_000 });
    w.put("cert.pem", early.certPem);
    w.put("key.pem", early.keyPem);
    await waitFor("the warning", () => rec.warnings().length === 1);
    assert.match(String(rec.warnings()[0]!.fields?.error), /not valid before/);
    clock.advance(early.notBefore - clock.wallNow());
    await waitFor("the rotation", () => rec.creds.length === 2);
    assert.equal(s.current.certChainPem, early.certPem);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("identity source, issuer mode", () => {
  const LIFETIME = 10 * HOUR;

  /** A CA written to files (cert + PKCS#8 key) and the trust anchors; the leaf lifetime is LIFETIME. */
  async function fixture(clock: Clock, extra: Partial<IdentityConfig> = {}) {
    const ca = await LocalCa.create({ trustDomain: TD, now: () => clock.wallNow(), extractable: true });
    const w = workdir();
    w.put("ca.pem", ca.rootPem);
    w.put("ca.key", await ca.rootKeyPem());
    w.put("anchors.pem", ca.rootPem);
    const config: IdentityConfig = { id: WEB, trustAnchorsFile: "anchors.pem", issuer: { certFile: "ca.pem", keyFile: "ca.key", lifetimeMs: LIFETIME }, ...extra };
    return { ca, w, config };
  }

  it("certifies a generated key for identity.id with the CA from the files, writing nothing", async () => {
    const clock = new FakeClock();
    const { ca, w, config } = await fixture(clock);
    const before = readdirSync(w.dir).sort();
    const rec = recorder();
    const s = await start(rec, { config, baseDir: w.dir, clock });
    assert.equal(rec.creds.length, 1);
    const c = s.current;
    assert.equal(c.id, WEB);
    assert.equal(spiffeIdOfLeaf(c), WEB);
    assertIssuedBy(c, ca.rootPem);
    assert.equal(c.trustAnchorsPem, ca.rootPem);
    assert.ok(c.notBefore <= clock.wallNow() && clock.wallNow() < c.notAfter);
    assert.equal(c.notAfter - clock.wallNow(), LIFETIME, "the issuer's lifetime (to the second X.509 keeps)");
    assert.deepEqual(readdirSync(w.dir).sort(), before, "no key written without keyOutFile");
  });

  it("renews at 70 % of the lifetime with a new key, on the clock it was given", async () => {
    const clock = new FakeClock();
    const { ca, w, config } = await fixture(clock);
    const rec = recorder();
    const s = await start(rec, { config, baseDir: w.dir, clock });
    for (let round = 1; round <= 2; round++) {
      const c = s.current;
      const dueIn = Math.ceil(c.notBefore + ((c.notAfter - c.notBefore) * RENEW_AT_PERCENT) / 100 - clock.wallNow());
      clock.advance(dueIn - 1);
      await sleep(50);
      assert.equal(rec.creds.length, round, "not renewed before 70 %");
      clock.advance(1);
      await waitFor(`renewal ${round}`, () => rec.creds.length === round + 1);
      const next = s.current;
      assert.notEqual(next.keyPem, c.keyPem, "a new key");
      assert.notEqual(leafOf(next).serialNumber, leafOf(c).serialNumber);
      assert.ok(next.notAfter > c.notAfter);
      assertIssuedBy(next, ca.rootPem);
      assert.equal(spiffeIdOfLeaf(next), WEB);
    }
    assert.deepEqual(rec.warnings(), []);
  });

  it("writes the key to keyOutFile (mode 0600) when set, and rewrites it on renewal", async () => {
    const clock = new FakeClock();
    const { w, config } = await fixture(clock, { keyOutFile: "proxy.key" });
    const rec = recorder();
    const s = await start(rec, { config, baseDir: w.dir, clock });
    const keyFile = w.path("proxy.key");
    assert.equal(readFileSync(keyFile, "utf8"), s.current.keyPem);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    clock.advance(s.current.notAfter - clock.wallNow());
    await waitFor("the renewal", () => rec.creds.length === 2);
    assert.equal(readFileSync(keyFile, "utf8"), s.current.keyPem);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(w.dir).filter((n) => n.endsWith(".tmp")), [], "no temp file left");
  });

  it("retries a failed renewal after 1 s, 2 s, 4 s ... and keeps the current credentials meanwhile", async () => {
    const clock = new FakeClock();
    const ca = await LocalCa.create({ trustDomain: TD, now: () => clock.wallNow(), lifetimeMs: LIFETIME });
    const w = workdir();
    w.put("anchors.pem", ca.rootPem);
    let failing = false;
    let calls = 0;
    const issuer: CertificateIssuer = {
      issue(csr, id) {
        calls++;
        return failing ? Promise.reject(new Error("control plane unavailable")) : ca.issue(csr, id);
      },
    };
    const rec = recorder();
    // certFile/keyFile are ignored when an issuer is passed: they do not exist.
    const config: IdentityConfig = { id: WEB, trustAnchorsFile: "anchors.pem", certFile: "none.pem", keyFile: "none.key" };
    const s = await start(rec, { config, baseDir: w.dir, clock, issuer });
    const first = s.current;
    failing = true;
    clock.advance(s.current.notAfter - clock.wallNow() - HOUR);
    await waitFor("the first failure", () => rec.warnings().length === 1);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const w0 = rec.warnings()[attempt - 1]!;
      assert.match(w0.msg, /renewal failed/);
      assert.equal(w0.fields?.attempt, attempt);
      assert.match(String(w0.fields?.error), /control plane unavailable/);
      const delay = renewalRetryDelayMs(attempt);
      assert.equal(w0.fields?.retryInMs, delay);
      clock.advance(delay - 1);
      await sleep(30);
      assert.equal(calls, attempt + 1, `no retry before ${delay} ms`);
      clock.advance(1);
      await waitFor(`retry ${attempt}`, () => rec.warnings().length === attempt + 1);
      assert.equal(s.current, first);
    }
    assert.deepEqual([1, 2, 3, 4, 7, 8].map(renewalRetryDelayMs), [1000, 2000, 4000, 8000, 60_000, 60_000]);
    failing = false;
    clock.advance(renewalRetryDelayMs(4));
    await waitFor("the renewal", () => rec.creds.length === 2);
    assert.notEqual(s.current.keyPem, first.keyPem);
    assertIssuedBy(s.current, ca.rootPem);
    // The next renewal is at 70 % of the new certificate again, not on the retry schedule.
    const c = s.current;
    clock.advance(renewalRetryDelayMs(5));
    await sleep(30);
    assert.equal(s.current, c);
  });

  it("takes new trust anchors the certificate chains to, and warns once about ones it does not", async () => {
    const clock = new FakeClock();
    const { ca, w, config } = await fixture(clock);
    const rec = recorder();
    const s = await start(rec, { config, baseDir: w.dir, clock, watch: WATCH });
    const cert = s.current.certChainPem;
    const next = await LocalCa.create({ trustDomain: TD });
    w.put("anchors.pem", ca.rootPem + next.rootPem);
    await waitFor("the new anchors", () => rec.creds.length === 2);
    assert.equal(s.current.trustAnchorsPem, ca.rootPem + next.rootPem);
    assert.equal(s.current.certChainPem, cert);
    w.put("anchors.pem", next.rootPem);
    await waitFor("the warning", () => rec.warnings().length === 1);
    assert.match(String(rec.warnings()[0]!.fields?.error), /identity.trustAnchorsFile .*anchors\.pem: the current certificate does not chain/);
    await sleep(300);
    assert.equal(rec.warnings().length, 1);
    assert.equal(s.current.trustAnchorsPem, ca.rootPem + next.rootPem);
  });

  it("stops renewing once closed", async () => {
    const clock = new FakeClock();
    const { w, config } = await fixture(clock);
    const rec = recorder();
    const s = await start(rec, { config, baseDir: w.dir, clock });
    assert.equal(clock.pending, 1, "the renewal timer");
    s.close();
    assert.equal(clock.pending, 0);
    clock.advance(s.current.notAfter - clock.wallNow());
    await sleep(50);
    assert.equal(rec.creds.length, 1);
  });

  it("refuses to start when the CA files or the anchors do not fit, naming the file", async () => {
    const clock = new FakeClock();
    const other = await LocalCa.create({ trustDomain: TD, extractable: true });
    const cases: { field: string; file: string; about: RegExp; change(put: (n: string, t: string) => string): Promise<void> }[] = [
      { field: "issuer.keyFile", file: "ca.key", about: /the CA key does not belong to the CA certificate/, change: async (put) => void put("ca.key", await other.rootKeyPem()) },
      { field: "issuer.certFile", file: "ca.pem", about: /cannot read it/, change: async (put) => rmSync(put("ca.pem", "")) },
      { field: "issuer.certFile", file: "ca.pem", about: /does not chain to the trust anchors/, change: async (put) => void put("anchors.pem", other.rootPem) },
      { field: "trustAnchorsFile", file: "anchors.pem", about: /no "BEGIN CERTIFICATE"/, change: async (put) => void put("anchors.pem", "") },
    ];
    for (const k of cases) {
      const { w, config } = await fixture(clock);
      await k.change(w.put);
      const rec = recorder();
      await assert.rejects(start(rec, { config, baseDir: w.dir, clock }), failsWith(k.field, w.path(k.file), k.about));
      assert.equal(rec.creds.length, 0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("LocalCa from PEM, rootKeyPem, verifyChain", () => {
  it("round-trips a LocalCa through PEM: same trust domain, leaves signed by the same root", async () => {
    const ca = await LocalCa.create({ trustDomain: TD, extractable: true });
    const again = await LocalCa.fromPem(ca.rootPem, await ca.rootKeyPem());
    assert.equal(again.trustDomain, TD);
    assert.equal(again.rootPem, ca.rootPem);
    const leaf = await again.issueFor(WEB);
    const x = new X509Certificate(leaf.certPem);
    assert.ok(x.verify(new X509Certificate(ca.rootPem).publicKey));
    assert.equal(x.subjectAltName, `URI:${WEB}`);
    assert.deepEqual(await verifyChain(leaf.certPem, ca.rootPem), { ok: true });
    await assert.rejects(again.issueFor("spiffe://elsewhere.org/ns/a/sa/b"), (e) => isCertError(e, "FOREIGN_TRUST_DOMAIN"));
  });

  it("keeps the root key in memory unless asked", async () => {
    const ca = await LocalCa.create({ trustDomain: TD });
    await assert.rejects(ca.rootKeyPem(), /not extractable/);
  });

  it("refuses a key that is not the CA's, and a certificate that is not a CA", async () => {
    const ca = await LocalCa.create({ trustDomain: TD, extractable: true });
    const other = await LocalCa.create({ trustDomain: TD, extractable: true });
    await assert.rejects(LocalCa.fromPem(ca.rootPem, await other.rootKeyPem()), (e) => isCertError(e, "KEY_MISMATCH") && (e as CertError).part === "key");
    const leaf = await ca.issueFor(WEB);
    await assert.rejects(LocalCa.fromPem(leaf.certPem, leaf.keyPem), (e) => {
      assert.ok(isCertError(e, "BAD_PEM") && e.part === "certificate");
      assert.match(e.message, /not a CA certificate/);
      return true;
    });
    await assert.rejects(LocalCa.fromPem(ca.rootPem, "no key"), (e) => isCertError(e, "BAD_PEM") && (e as CertError).part === "key");
  });

  it("tells a stranger CA from a missing one in verifyChain's reasons", async () => {
    const ca = await LocalCa.create({ trustDomain: TD });
    const twin = await LocalCa.create({ trustDomain: TD });
    const unrelated = await LocalCa.create({ trustDomain: "other.example" });
    const leaf = await ca.issueFor(WEB);
    assert.deepEqual(await verifyChain(leaf.certPem, unrelated.rootPem + ca.rootPem), { ok: true });
    const same = await verifyChain(leaf.certPem, twin.rootPem);
    assert.ok(!same.ok && /same name/.test(same.error), JSON.stringify(same));
    const none = await verifyChain(leaf.certPem, unrelated.rootPem);
    assert.ok(!none.ok && /none of the 1 trust anchor/.test(none.error), JSON.stringify(none));
  });

  describe("with CAs made by openssl", { skip: hasOpenssl() ? false : "openssl not installed" }, () => {
    const w = workdir();
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: w.dir, stdio: "pipe", timeout: 20_000 }).toString();
    const caExt = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"];

    for (const [name, keyArgs] of [
      ["ECDSA P-256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]],
      ["RSA 2048", ["-newkey", "rsa:2048"]],
    ] as const) {
      it(`issues with a ${name} CA that names no trust domain, for any trust domain; openssl verifies`, async () => {
        const tag = name.replace(/\W/g, "");
        openssl("req", "-x509", ...keyArgs, "-nodes", "-keyout", `${tag}.key`, "-out", `${tag}.pem`, "-subj", `/CN=${name} root`, "-days", "2", ...caExt);
        const ca = await LocalCa.fromPem(readFileSync(w.path(`${tag}.pem`), "utf8"), readFileSync(w.path(`${tag}.key`), "utf8"));
        assert.equal(ca.trustDomain, undefined);
        for (const id of [WEB, "spiffe://elsewhere.org/ns/a/sa/b"]) {
          const leaf = await ca.issueFor(id);
          w.put(`${tag}-leaf.pem`, leaf.certPem);
          assert.match(openssl("verify", "-CAfile", `${tag}.pem`, `${tag}-leaf.pem`), /OK/);
          assert.equal(new X509Certificate(leaf.certPem).subjectAltName, `URI:${id}`);
        }
      });
    }

    it("an intermediate CA sends its certificate after the leaf; the chain verifies up to the root", async () => {
      openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=root", "-days", "2", ...caExt);
      openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=intermediate");
      w.put("int.ext", `basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\nsubjectAltName=URI:spiffe://${TD}\nsubjectKeyIdentifier=hash\n`);
      openssl("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "int.pem", "-days", "2", "-extfile", "int.ext");
      const rootPem = readFileSync(w.path("root.pem"), "utf8");
      const intPem = readFileSync(w.path("int.pem"), "utf8");
      const ca = await LocalCa.fromPem(intPem + rootPem, readFileSync(w.path("int.key"), "utf8"));
      assert.equal(ca.trustDomain, TD);
      const leaf = await ca.issueFor(WEB);
      assert.equal(pemToDer(leaf.certPem).length, 2, "leaf + intermediate, not the root");
      w.put("chain-leaf.pem", leaf.certPem.slice(0, leaf.certPem.indexOf("-----END CERTIFICATE-----") + 26));
      w.put("chain-int.pem", intPem);
      assert.match(openssl("verify", "-CAfile", "root.pem", "-untrusted", "chain-int.pem", "chain-leaf.pem"), /OK/);
      assert.deepEqual(await verifyChain(leaf.certPem, rootPem), { ok: true });
      const alone = await verifyChain(leaf.certPem.slice(0, leaf.certPem.indexOf("-----END CERTIFICATE-----") + 26), rootPem);
      assert.equal(alone.ok, false, "without the intermediate the leaf does not reach the root");
    });
  });
});
