// Workload certificates (adapters/shared/certs.ts) on each runtime: node.test.ts, bun.test.ts and deno.test.ts
// each import this file, which registers its cases with node:test under the runtime's name. Cases use only
// node:assert, node:test, node:tls, node:child_process + openssl (the independent judge of what was issued) and the
// runtime's own Tls port for the proxy-side mTLS check.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as tls from "node:tls";
import {
  CertError,
  FileIssuer,
  LocalCa,
  generateKeyAndCsr,
  isCertError,
  parseSpiffeId,
  parseWorkloadId,
  pemBlocks,
  pemDecode,
  pemEncode,
  spiffeId,
  verifyCsr,
} from "../../adapters/shared/certs.ts";
import type { IssueRejectReason } from "../../core/identity/issuer.ts";
import type { Conn, Runtime } from "../../core/ports.ts";
import { API, HOST, runtimeName, TD, WEB } from "../support/identity-fixtures.ts";

export interface CertCaseContext {
  rt: Runtime;
  skip(reason: string): void;
}
export interface CertCase {
  name: string;
  run(t: CertCaseContext): Promise<void>;
}

const enc = new TextEncoder();

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function rejectsWith(reason: IssueRejectReason, mustMention?: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isCertError(e, reason), `expected CertError ${reason}, got ${e instanceof CertError ? e.reason : ""} ${String(e)}`);
    if (mustMention !== undefined) assert.ok((e as Error).message.includes(mustMention), `message names ${mustMention}: ${(e as Error).message}`);
    return true;
  };
}

const hasOpenssl = spawnSync("openssl", ["version"], { stdio: "pipe" }).status === 0;

/** A temp dir to hand PEM files to openssl; removed after fn. */
async function withDir(fn: (dir: string, put: (name: string, text: string) => string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "meshlet-certs-"));
  try {
    await fn(dir, (name, text) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(...args: string[]): { code: number; out: string } {
  const r = spawnSync("openssl", args, { stdio: "pipe", timeout: 20_000 });
  return { code: r.status ?? -1, out: `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}` };
}

function opensslOk(...args: string[]): string {
  const r = openssl(...args);
  assert.equal(r.code, 0, `openssl ${args.join(" ")} failed:\n${r.out}`);
  return r.out;
}

/** Replaces the one occurrence of `from` in `der` with `to` (same length). */
function patch(der: Uint8Array, from: string, to: string): Uint8Array {
  const a = enc.encode(from);
  const b = enc.encode(to);
  assert.equal(a.length, b.length);
  const out = der.slice();
  let at = -1;
  for (let i = 0; i + a.length <= out.length && at < 0; i++) if (a.every((v, j) => out[i + j] === v)) at = i;
  assert.ok(at >= 0, `${from} in the DER`);
  out.set(b, at);
  return out;
}

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

/** Serves node:tls on 127.0.0.1:0 with mTLS; returns what each accepted socket saw. */
async function mtlsServer(opts: { cert: string; key: string; ca: string }): Promise<{
  port: number;
  next(): Promise<{ authorized: boolean; error: string | undefined; san: string | undefined; raw: Uint8Array | undefined }>;
  close(): Promise<void>;
}> {
  const seen: Array<(v: { authorized: boolean; error: string | undefined; san: string | undefined; raw: Uint8Array | undefined }) => void> = [];
  const srv = tls.createServer({ ...opts, requestCert: true, rejectUnauthorized: false }, (s) => {
    const peer = s.getPeerCertificate() as Partial<tls.PeerCertificate> | null;
    const err = s.authorizationError as unknown;
    seen.shift()?.({
      authorized: s.authorized,
      error: err === undefined || err === null ? undefined : String((err as { code?: string }).code ?? err),
      san: peer?.subjectaltname,
      raw: peer?.raw ? new Uint8Array(peer.raw) : undefined,
    });
    s.on("error", () => {}); // a client that gives up after the handshake resets the socket
    s.end("ok");
  });
  await new Promise<void>((res, rej) => {
    srv.once("error", rej);
    srv.listen(0, HOST, () => res());
  });
  const port = (srv.address() as { port: number }).port;
  return {
    port,
    next: () => withTimeout(new Promise((r) => seen.push(r)), 5000, "server handshake"),
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

/**
 * A node:tls client with a SPIFFE certificate. SPIFFE peers have no DNS SAN: the hostname check is replaced by a
 * check of the server's URI SAN, as the proxy will do.
 */
function mtlsClient(port: number, opts: { cert: string; key: string; ca: string; expectServer: string }): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({
        host: HOST,
        port,
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
          cert.subjectaltname === `URI:${opts.expectServer}` ? undefined : new Error(`server is ${cert.subjectaltname}`),
      });
      let got = "";
      s.setEncoding("utf8");
      s.on("data", (d: string) => (got += d));
      s.once("error", reject);
      s.once("end", () => {
        s.end();
        resolve(got);
      });
    }),
    5000,
    "client handshake",
  );
}

export const certCases: CertCase[] = [
  {
    name: "SPIFFE IDs: parse, build, reject malformed",
    async run() {
      assert.deepEqual(parseSpiffeId(WEB), { trustDomain: TD, path: "/ns/default/sa/web" });
      assert.deepEqual(parseSpiffeId("spiffe://td_1.x-y/A.b/c-d_e"), { trustDomain: "td_1.x-y", path: "/A.b/c-d_e" });
      assert.deepEqual(parseSpiffeId("spiffe://example.org"), { trustDomain: TD, path: "" });
      assert.throws(() => parseWorkloadId("spiffe://example.org"), rejectsWith("INVALID_IDENTITY"));
      assert.equal(spiffeId("cluster.local", "default", "web"), "spiffe://cluster.local/ns/default/sa/web");
      assert.throws(() => spiffeId("cluster.local", "a/b", "web"), rejectsWith("INVALID_IDENTITY"));
      assert.throws(() => spiffeId("cluster.local", "default", ".."), rejectsWith("INVALID_IDENTITY"));
      assert.throws(() => spiffeId("Cluster.local", "default", "web"), rejectsWith("INVALID_IDENTITY"));
      const bad = [
        "", "example.org/ns/a/sa/b", "http://example.org/ns/a/sa/b", "SPIFFE://example.org/x", "spiffe://Example.org/x",
        "spiffe://example.org:8080/x", "spiffe://user@example.org/x", "spiffe:///x", "spiffe://example.org/",
        "spiffe://example.org/a//b", "spiffe://example.org/a/./b", "spiffe://example.org/a/../b", "spiffe://example.org/a?b=c",
        "spiffe://example.org/a#f", "spiffe://example.org/a%20b", "spiffe://example.org/a b", `spiffe://example.org/${"a".repeat(2040)}`,
      ];
      for (const id of bad) assert.throws(() => parseSpiffeId(id), rejectsWith("INVALID_IDENTITY"), id);
    },
  },
  {
    name: "PEM helpers: round trip, several blocks amid text, malformed blocks rejected",
    async run() {
      for (const n of [1, 47, 48, 49, 1000]) {
        const der = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
        const pem = pemEncode("CERTIFICATE", der);
        assert.ok(pem.split("\n").every((l) => l.length <= 64), "64-column lines");
        assert.deepEqual(pemDecode(pem), [{ label: "CERTIFICATE", der }]);
      }
      const a = pemEncode("CERTIFICATE", new Uint8Array([1, 2, 3]));
      const b = pemEncode("PRIVATE KEY", new Uint8Array([4, 5]));
      const text = `subject=CN = x\n${a}some text\r\n${b.replace(/\n/g, "\r\n")}trailer`;
      assert.deepEqual(pemDecode(text).map((x) => x.label), ["CERTIFICATE", "PRIVATE KEY"]);
      assert.deepEqual(pemBlocks(text, "PRIVATE KEY"), [new Uint8Array([4, 5])]);
      assert.deepEqual(pemDecode("no pem here"), []);
      assert.throws(() => pemDecode(a.replace("END CERTIFICATE", "END PRIVATE KEY")), rejectsWith("BAD_PEM"));
      assert.throws(() => pemDecode(a.replace(/-----END[\s\S]*/, "")), rejectsWith("BAD_PEM"));
      assert.throws(() => pemDecode(a.replace("AQID", "AQ!D")), rejectsWith("BAD_PEM"));
      assert.throws(() => pemDecode(a.replace("AQID", "AQI")), rejectsWith("BAD_PEM"));
      assert.throws(
        () => pemDecode("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END EC PRIVATE KEY-----\n"),
        rejectsWith("BAD_PEM"),
      );
    },
  },
  {
    name: "generateKeyAndCsr: P-256 PKCS#8 key + PKCS#10 CSR with the URI SAN; openssl agrees",
    async run(t) {
      await assert.rejects(generateKeyAndCsr("spiffe://example.org"), rejectsWith("INVALID_IDENTITY"));
      await assert.rejects(generateKeyAndCsr("web"), rejectsWith("INVALID_IDENTITY"));
      const km = await generateKeyAndCsr(WEB);
      assert.deepEqual(pemDecode(km.privateKeyPem).map((b) => b.label), ["PRIVATE KEY"]);
      assert.deepEqual(pemDecode(km.csrPem).map((b) => b.label), ["CERTIFICATE REQUEST"]);
      const csr = await verifyCsr(km.csrPem);
      assert.deepEqual(csr.uris, [WEB]);
      assert.deepEqual(csr.publicKey.algorithm, { name: "ECDSA", namedCurve: "P-256" });
      // The key is the CSR's: a signature made with the PKCS#8 key verifies with the CSR's public key.
      const subtle = globalThis.crypto.subtle;
      const alg = { name: "ECDSA", namedCurve: "P-256" };
      const priv = await subtle.importKey("pkcs8", pemBlocks(km.privateKeyPem, "PRIVATE KEY")[0]!, alg, false, ["sign"]);
      const pub = await subtle.importKey("spki", csr.publicKey.rawData, alg, false, ["verify"]);
      const msg = enc.encode("proof of possession");
      const sig = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, priv, msg);
      assert.equal(await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig, msg), true);
      // A new key each time.
      const km2 = await generateKeyAndCsr(WEB);
      assert.notEqual(km2.privateKeyPem, km.privateKeyPem);
      if (!hasOpenssl) return t.skip("openssl not available");
      await withDir(async (_dir, put) => {
        const out = opensslOk("req", "-in", put("csr.pem", km.csrPem), "-verify", "-noout", "-text");
        assert.match(out, /verify OK/);
        assert.match(out, /Subject: *\n/, "empty subject");
        assert.match(out, /NIST CURVE: P-256/);
        assert.match(out, /Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/ns\/default\/sa\/web\s*\n/);
        assert.match(opensslOk("pkey", "-in", put("key.pem", km.privateKeyPem), "-noout", "-text"), /NIST CURVE: P-256/);
        // openssl derives the same public key from the private key as the CSR carries.
        assert.equal(opensslOk("pkey", "-in", join(_dir, "key.pem"), "-pubout"), opensslOk("req", "-in", join(_dir, "csr.pem"), "-pubkey", "-noout"));
      });
    },
  },
  {
    name: "LocalCa root: self-signed P-256, CA:TRUE, keyCertSign, the trust domain's SPIFFE ID",
    async run(t) {
      await assert.rejects(LocalCa.create({ trustDomain: "Example.org" }), rejectsWith("INVALID_IDENTITY"));
      await assert.rejects(LocalCa.create({ trustDomain: "example.org/ns" }), rejectsWith("INVALID_IDENTITY"));
      await assert.rejects(LocalCa.create({ trustDomain: TD, lifetimeMs: 0 }), RangeError);
      const ca = await LocalCa.create({ trustDomain: TD });
      assert.equal(ca.trustDomain, TD);
      assert.equal(pemBlocks(ca.rootPem, "CERTIFICATE").length, 1);
      if (!hasOpenssl) return t.skip("openssl not available");
      await withDir(async (_dir, put) => {
        const root = put("root.pem", ca.rootPem);
        const text = opensslOk("x509", "-in", root, "-noout", "-text");
        assert.match(text, /Basic Constraints: critical\s+CA:TRUE/);
        assert.match(text, /Key Usage: critical\s+Certificate Sign/);
        assert.match(text, /NIST CURVE: P-256/);
        assert.match(text, /URI:spiffe:\/\/example\.org\s/);
        assert.match(text, /Issuer: O = example\.org, CN = meshlet local CA\s+Validity[\s\S]*Subject: O = example\.org, CN = meshlet local CA/);
        assert.match(opensslOk("verify", "-CAfile", root, root), /: OK/);
      });
    },
  },
  {
    name: "LocalCa.issue: leaf for the CSR's key, URI SAN = identity, 24 h, verified by openssl against the root",
    async run(t) {
      const ca = await LocalCa.create({ trustDomain: TD });
      const km = await generateKeyAndCsr(WEB);
      const before = Date.now();
      const issued = await ca.issue(km.csrPem, WEB);
      const after = Date.now();
      assert.equal(pemBlocks(issued.certChainPem, "CERTIFICATE").length, 1, "chain = [leaf]");
      assert.ok(issued.notBefore >= seconds(before) - 60_000 && issued.notBefore <= after - 60_000, "backdated 1 min");
      assert.equal(issued.notAfter - issued.notBefore, 24 * 3600_000 + 60_000);
      if (!hasOpenssl) return t.skip("openssl not available");
      await withDir(async (dir, put) => {
        const root = put("root.pem", ca.rootPem);
        const leaf = put("leaf.pem", issued.certChainPem);
        assert.match(opensslOk("verify", "-CAfile", root, leaf), /leaf\.pem: OK/);
        assert.match(opensslOk("verify", "-CAfile", root, "-purpose", "sslserver", leaf), /: OK/);
        assert.match(opensslOk("verify", "-CAfile", root, "-purpose", "sslclient", leaf), /: OK/);
        assert.match(opensslOk("verify", "-CAfile", root, "-x509_strict", leaf), /: OK/);
        const text = opensslOk("x509", "-in", leaf, "-noout", "-text");
        assert.match(text, /Subject Alternative Name: critical\s+URI:spiffe:\/\/example\.org\/ns\/default\/sa\/web\s*\n/, "the only SAN");
        assert.match(text, /NIST CURVE: P-256/);
        assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
        assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
        assert.match(text, /Key Usage: critical\s+Digital Signature\s*\n/);
        assert.match(text, /Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication\s*\n/);
        assert.match(text, /Issuer: O = example\.org, CN = meshlet local CA/);
        assert.match(text, /Subject: *\n/);
        // The certified key is the CSR's.
        put("csr.pem", km.csrPem);
        assert.equal(opensslOk("x509", "-in", leaf, "-pubkey", "-noout"), opensslOk("req", "-in", join(dir, "csr.pem"), "-pubkey", "-noout"));
        // openssl's validity equals the returned one.
        const dates = opensslOk("x509", "-in", leaf, "-noout", "-startdate", "-enddate");
        const nb = /notBefore=(.*)/.exec(dates)![1]!;
        const na = /notAfter=(.*)/.exec(dates)![1]!;
        assert.equal(Date.parse(nb), issued.notBefore);
        assert.equal(Date.parse(na), issued.notAfter);
      });
    },
  },
  {
    name: "LocalCa: lifetimeMs and the injected clock set the validity; leaves never outlive the root",
    async run() {
      const T = Date.UTC(2030, 0, 1, 12, 0, 0);
      const ca = await LocalCa.create({ trustDomain: TD, lifetimeMs: 3600_000, now: () => T });
      const issued = await ca.issue((await generateKeyAndCsr(WEB)).csrPem, WEB);
      assert.equal(issued.notBefore, T - 60_000);
      assert.equal(issued.notAfter, T + 3600_000);
      const long = await LocalCa.create({ trustDomain: TD, lifetimeMs: 20 * 365 * 24 * 3600_000, now: () => T });
      const l = await long.issue((await generateKeyAndCsr(WEB)).csrPem, WEB);
      assert.equal(l.notAfter, T + 10 * 365 * 24 * 3600_000, "clamped to the root's notAfter");
    },
  },
  {
    name: "LocalCa.issue rejects: identity mismatch, foreign trust domain, non-SPIFFE, tampered or malformed CSR",
    async run(t) {
      const ca = await LocalCa.create({ trustDomain: TD });
      const km = await generateKeyAndCsr(`spiffe://${TD}/ns/default/sa/alice`);
      await assert.rejects(ca.issue(km.csrPem, `spiffe://${TD}/ns/default/sa/bob`), rejectsWith("IDENTITY_MISMATCH", "sa/alice"));
      const foreign = await generateKeyAndCsr("spiffe://other.org/ns/default/sa/alice");
      await assert.rejects(ca.issue(foreign.csrPem, "spiffe://other.org/ns/default/sa/alice"), rejectsWith("FOREIGN_TRUST_DOMAIN", "other.org"));
      // Asking for a foreign identity with a CSR of this domain: still the trust domain that is refused.
      await assert.rejects(ca.issue(km.csrPem, "spiffe://other.org/ns/default/sa/alice"), rejectsWith("FOREIGN_TRUST_DOMAIN"));
      await assert.rejects(ca.issue(km.csrPem, "alice"), rejectsWith("INVALID_IDENTITY"));
      await assert.rejects(ca.issue(km.csrPem, `spiffe://${TD}`), rejectsWith("INVALID_IDENTITY"));
      // Tampered: the SAN rewritten (alice -> alicf) so that it matches the identity asked for; the signature fails.
      const der = pemBlocks(km.csrPem, "CERTIFICATE REQUEST")[0]!;
      const rewritten = pemEncode("CERTIFICATE REQUEST", patch(der, "sa/alice", "sa/alicf"));
      await assert.rejects(ca.issue(rewritten, `spiffe://${TD}/ns/default/sa/alicf`), rejectsWith("BAD_SIGNATURE"));
      // Tampered signature (last byte of the ECDSA signature's s).
      const sigFlip = der.slice();
      sigFlip[sigFlip.length - 1] = sigFlip[sigFlip.length - 1]! ^ 0x01;
      await assert.rejects(ca.issue(pemEncode("CERTIFICATE REQUEST", sigFlip), `spiffe://${TD}/ns/default/sa/alice`), rejectsWith("BAD_SIGNATURE"));
      // Not a CSR at all.
      await assert.rejects(ca.issue("", WEB), rejectsWith("BAD_CSR"));
      await assert.rejects(ca.issue(pemEncode("CERTIFICATE REQUEST", new Uint8Array([0x30, 0x03, 1, 2, 3])), WEB), rejectsWith("BAD_CSR"));
      await assert.rejects(ca.issue(km.csrPem + km.csrPem, `spiffe://${TD}/ns/default/sa/alice`), rejectsWith("BAD_CSR"));
      await assert.rejects(ca.issue(ca.rootPem, WEB), rejectsWith("BAD_CSR"));
      if (!hasOpenssl) return t.skip("openssl not available (CSRs made by openssl)");
      await withDir(async (dir) => {
        const req = (name: string, keyArgs: string[], san: string) => {
          opensslOk("req", "-new", "-newkey", ...keyArgs, "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.csr`),
            "-subj", "/CN=web", "-addext", `subjectAltName=${san}`);
          return opensslOk("req", "-in", join(dir, `${name}.csr`));
        };
        const ec = ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        // An openssl CSR is accepted (interop), and one without a URI SAN or with two is refused.
        const ok = await ca.issue(req("ok", ec, `URI:${WEB}`), WEB);
        assert.equal(pemBlocks(ok.certChainPem, "CERTIFICATE").length, 1);
        await assert.rejects(ca.issue(req("dns", ec, "DNS:web.example.org"), WEB), rejectsWith("BAD_CSR"));
        await assert.rejects(ca.issue(req("two", ec, `URI:${WEB},URI:${API}`), WEB), rejectsWith("BAD_CSR"));
        await assert.rejects(ca.issue(req("p521", ["ec", "-pkeyopt", "ec_paramgen_curve:secp521r1"], `URI:${WEB}`), WEB), rejectsWith("UNSUPPORTED_KEY"));
        await assert.rejects(ca.issue(req("rsa", ["rsa:2048"], `URI:${WEB}`), WEB), rejectsWith("UNSUPPORTED_KEY"));
      });
    },
  },
  {
    name: "LocalCa.issueFor: expired and not-yet-valid certificates have the dates asked for; openssl says so",
    async run(t) {
      const ca = await LocalCa.create({ trustDomain: TD });
      const now = seconds(Date.now());
      const expired = await ca.issueFor(WEB, { notBefore: now - 2 * 86400_000, notAfter: now - 86400_000 });
      assert.deepEqual([expired.notBefore, expired.notAfter], [now - 2 * 86400_000, now - 86400_000]);
      const future = await ca.issueFor(WEB, { notBefore: now + 86400_000, notAfter: now + 2 * 86400_000 });
      assert.deepEqual([future.notBefore, future.notAfter], [now + 86400_000, now + 2 * 86400_000]);
      const fromNb = await ca.issueFor(WEB, { notBefore: now + 3600_000 });
      assert.deepEqual([fromNb.notBefore, fromNb.notAfter], [now + 3600_000, now + 3600_000 + 86400_000]);
      const normal = await ca.issueFor(API);
      assert.equal(normal.notAfter - normal.notBefore, 86400_000 + 60_000);
      assert.equal(pemBlocks(normal.keyPem, "PRIVATE KEY").length, 1);
      await assert.rejects(ca.issueFor(WEB, { notBefore: now, notAfter: now }), RangeError);
      await assert.rejects(ca.issueFor("spiffe://other.org/ns/a/sa/b"), rejectsWith("FOREIGN_TRUST_DOMAIN"));
      if (!hasOpenssl) return t.skip("openssl not available");
      await withDir(async (_dir, put) => {
        const root = put("root.pem", ca.rootPem);
        const e = openssl("verify", "-CAfile", root, put("expired.pem", expired.certPem));
        assert.notEqual(e.code, 0);
        assert.match(e.out, /certificate has expired/);
        const f = openssl("verify", "-CAfile", root, put("future.pem", future.certPem));
        assert.notEqual(f.code, 0);
        assert.match(f.out, /certificate is not yet valid/);
        assert.match(opensslOk("verify", "-CAfile", root, put("normal.pem", normal.certPem)), /: OK/);
        // The key file goes with the certificate.
        put("normal.key", normal.keyPem);
        assert.equal(opensslOk("pkey", "-in", join(_dir, "normal.key"), "-pubout"), opensslOk("x509", "-in", join(_dir, "normal.pem"), "-pubkey", "-noout"));
      });
    },
  },
  {
    name: "a certificate from another LocalCa (same trust domain) fails openssl verify against the first root",
    async run(t) {
      const ca1 = await LocalCa.create({ trustDomain: TD });
      const ca2 = await LocalCa.create({ trustDomain: TD });
      assert.notEqual(ca1.rootPem, ca2.rootPem);
      const l1 = await ca1.issueFor(WEB);
      const l2 = await ca2.issueFor(WEB);
      if (!hasOpenssl) return t.skip("openssl not available");
      await withDir(async (_dir, put) => {
        const r1 = put("root1.pem", ca1.rootPem);
        const r2 = put("root2.pem", ca2.rootPem);
        const p1 = put("leaf1.pem", l1.certPem);
        const p2 = put("leaf2.pem", l2.certPem);
        const bad = openssl("verify", "-CAfile", r1, p2);
        assert.notEqual(bad.code, 0, bad.out);
        assert.match(bad.out, /unable to get local issuer certificate|certificate signature failure/);
        assert.notEqual(openssl("verify", "-CAfile", r2, p1).code, 0);
        assert.match(opensslOk("verify", "-CAfile", r2, p2), /: OK/);
        assert.match(opensslOk("verify", "-CAfile", r1, p1), /: OK/);
      });
    },
  },
  {
    name: "FileIssuer: returns the files' chain and dates, ignores the CSR, checks identity and key",
    async run(t) {
      const ca = await LocalCa.create({ trustDomain: TD });
      const a = await ca.issueFor(WEB);
      const b = await ca.issueFor(WEB);
      const fi = new FileIssuer({ certChainPem: `# leaf\n${a.certPem}# root\n${ca.rootPem}`, keyPem: a.keyPem });
      assert.equal(fi.identity, WEB);
      assert.equal(fi.keyPem, a.keyPem);
      assert.equal(fi.certChainPem, a.certPem + ca.rootPem, "leaf first, text around blocks dropped");
      const got = await fi.issue("not even a CSR", WEB);
      assert.deepEqual(got, { certChainPem: a.certPem + ca.rootPem, notBefore: a.notBefore, notAfter: a.notAfter });
      await assert.rejects(fi.issue((await generateKeyAndCsr(API)).csrPem, API), rejectsWith("IDENTITY_MISMATCH", API));
      // The key file must be the leaf's.
      await assert.rejects(new FileIssuer({ certChainPem: a.certPem, keyPem: b.keyPem }).issue("", WEB), rejectsWith("KEY_MISMATCH"));
      // Root first: the leaf is taken to be the root, whose URI SAN is the trust domain's.
      const swapped = new FileIssuer({ certChainPem: ca.rootPem + a.certPem, keyPem: a.keyPem });
      assert.equal(swapped.identity, `spiffe://${TD}`);
      await assert.rejects(swapped.issue("", WEB), rejectsWith("IDENTITY_MISMATCH"));
      // Malformed files fail at construction.
      assert.throws(() => new FileIssuer({ certChainPem: "", keyPem: a.keyPem }), rejectsWith("BAD_PEM"));
      assert.throws(() => new FileIssuer({ certChainPem: a.certPem, keyPem: "" }), rejectsWith("BAD_PEM"));
      assert.throws(() => new FileIssuer({ certChainPem: a.certPem, keyPem: a.keyPem + b.keyPem }), rejectsWith("BAD_PEM"));
      assert.throws(
        () => new FileIssuer({ certChainPem: pemEncode("CERTIFICATE", new Uint8Array([0x30, 0x00])), keyPem: a.keyPem }),
        rejectsWith("BAD_PEM"),
      );
      if (!hasOpenssl) return t.skip("openssl not available (files made by openssl)");
      await withDir(async (dir) => {
        // Files as an operator would make them with openssl.
        opensslOk("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
          "-subj", "/O=ops", "-addext", `subjectAltName=URI:${API}`, "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"));
        const certText = opensslOk("x509", "-in", join(dir, "c.pem"), "-text");
        const keyText = opensslOk("pkey", "-in", join(dir, "k.pem"));
        const ops = new FileIssuer({ certChainPem: certText, keyPem: keyText });
        assert.equal(ops.identity, API);
        const r = await ops.issue("", API);
        assert.ok(r.notAfter - r.notBefore === 2 * 86400_000);
        const sec1 = opensslOk("pkey", "-in", join(dir, "k.pem"), "-traditional");
        assert.throws(() => new FileIssuer({ certChainPem: certText, keyPem: sec1 }), rejectsWith("BAD_PEM", "openssl pkcs8 -topk8"));
      });
    },
  },
  {
    name: "mTLS over node:tls with LocalCa certificates: handshake succeeds, the server sees the URI SAN; foreign or expired client certificates are not authorized",
    async run() {
      const ca = await LocalCa.create({ trustDomain: TD });
      const other = await LocalCa.create({ trustDomain: TD });
      const server = await ca.issueFor(API);
      const client = await ca.issueFor(WEB);
      const srv = await mtlsServer({ cert: server.certPem, key: server.keyPem, ca: ca.rootPem });
      try {
        let seen = srv.next();
        assert.equal(await mtlsClient(srv.port, { cert: client.certPem, key: client.keyPem, ca: ca.rootPem, expectServer: API }), "ok");
        let s = await seen;
        assert.equal(s.authorized, true, `authorized (${s.error})`);
        assert.equal(s.san, `URI:${WEB}`);
        assert.deepEqual(s.raw, pemBlocks(client.certPem, "CERTIFICATE")[0]);
        // A client certificate from another CA (same trust domain, same identity) is not authorized.
        const foreign = await other.issueFor(WEB);
        seen = srv.next();
        await mtlsClient(srv.port, { cert: foreign.certPem, key: foreign.keyPem, ca: ca.rootPem, expectServer: API });
        s = await seen;
        assert.equal(s.authorized, false);
        assert.ok(s.error !== undefined, "an authorization error");
        // Nor is an expired one.
        const now = Date.now();
        const expired = await ca.issueFor(WEB, { notBefore: now - 2 * 86400_000, notAfter: now - 86400_000 });
        seen = srv.next();
        await mtlsClient(srv.port, { cert: expired.certPem, key: expired.keyPem, ca: ca.rootPem, expectServer: API });
        s = await seen;
        assert.equal(s.authorized, false);
        // Deno's node:tls reports every client-certificate failure as UNABLE_TO_VERIFY_LEAF_SIGNATURE.
        if (runtimeName !== "deno") assert.match(String(s.error), /CERT_HAS_EXPIRED/);
        // The client refuses a server that is not the one it expects (last: the server may never see this one).
        await assert.rejects(mtlsClient(srv.port, { cert: client.certPem, key: client.keyPem, ca: ca.rootPem, expectServer: WEB }), /server is URI:spiffe/);
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "mTLS through the runtime's Tls port: accept with the root as CA authorizes the client's LocalCa certificate",
    async run({ rt }) {
      const ca = await LocalCa.create({ trustDomain: TD });
      const server = await ca.issueFor(API);
      const client = await ca.issueFor(WEB);
      let onConn!: (c: Conn) => void;
      const raw = new Promise<Conn>((r) => (onConn = r));
      const l = await rt.net.listen({ host: HOST, port: 0 }, (c) => onConn(c));
      try {
        const accepted = raw.then((c) => rt.tls.accept(c, { cert: server.certPem, key: server.keyPem, ca: ca.rootPem, requestCert: true }));
        const reply = mtlsClient(l.local.port, { cert: client.certPem, key: client.keyPem, ca: ca.rootPem, expectServer: API });
        const conn = await withTimeout(accepted, 5000, "tls accept");
        assert.equal(conn.tls?.authorized, true);
        assert.deepEqual(conn.tls?.peerCertificate, pemBlocks(client.certPem, "CERTIFICATE")[0]);
        conn.setHandlers({ data() {}, end() {}, close() {} });
        conn.write(enc.encode("ok"));
        conn.close();
        assert.equal(await reply, "ok");
      } finally {
        await l.close();
      }
    },
  },
];

// Registration: the runtime entry files import this module (one line each) and the cases run under its name.
// A computed specifier, so the Node typecheck does not follow the Bun and Deno adapters.
const adapter = `../../adapters/${runtimeName}/runtime.ts`;
const { createRuntime } = (await import(adapter)) as { createRuntime(): Runtime };
const rt = createRuntime();
for (const c of certCases) test(`${runtimeName}: certs: ${c.name}`, (t) => c.run({ rt, skip: (m) => t.skip(m) }));
