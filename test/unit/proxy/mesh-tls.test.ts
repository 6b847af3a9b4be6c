// Dialing meshed endpoints (core/proxy/mesh-tls.ts) over fake ports: what is asked of the TLS port, and every way
// a peer can fail to prove the expected identity. Certificates are real (LocalCa), so the SPIFFE ID is parsed
// from DER exactly as in production.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { LocalCa } from "../../../adapters/shared/certs.ts";
import { pemToDer } from "../../../core/identity/certificate-info.ts";
import type { TlsCredentials } from "../../../core/identity/credentials.ts";
import { isMeshletError, MeshletError } from "../../../core/errors.ts";
import type { Addr, Conn, ConnectOptions, Tls, TlsClientConfig, TlsInfo } from "../../../core/ports.ts";
import { createDialer, MeshTls } from "../../../core/proxy/mesh-tls.ts";
import { tlsPeer } from "../../../core/proxy/peer.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";
import { FakeConn, FakeNet } from "../../support/fake-runtime.ts";

const SERVER = "spiffe://t.test/ns/api/sa/server";
const OTHER = "spiffe://t.test/ns/x/sa/other";

/** A Tls port that answers connect() with a conn carrying `info`, or fails. */
class FakeTls implements Tls {
  calls: { target: Conn | Addr; cfg: TlsClientConfig; opts: ConnectOptions | undefined }[] = [];
  made: FakeConn[] = [];
  constructor(public answer: TlsInfo | Error) {}
  accept(): Promise<Conn> {
    throw new Error("not used");
  }
  connect(target: Conn | Addr, cfg: TlsClientConfig, opts?: ConnectOptions): Promise<Conn> {
    this.calls.push({ target, cfg, opts });
    const a = this.answer;
    if (a instanceof Error) return Promise.reject(a);
    const c = new FakeConn({ host: "127.0.0.1", port: 1 }, { host: "127.0.0.1", port: 2 });
    c.peer = new FakeConn(c.remote, c.local);
    (c as { tls?: TlsInfo }).tls = a;
    this.made.push(c);
    return Promise.resolve(c);
  }
}

describe("mesh mTLS dialing", () => {
  let ca: LocalCa, serverDer: Uint8Array, otherDer: Uint8Array, creds: TlsCredentials;
  const ep = (identity?: string) => ({
    addr: { host: "127.0.0.1", port: 7000 },
    key: "127.0.0.1:7000",
    pool: identity === undefined ? "127.0.0.1:7000" : `127.0.0.1:7000 ${identity}`,
    ...(identity !== undefined ? { identity } : {}),
  });

  before(async () => {
    ca = await LocalCa.create({ trustDomain: "t.test" });
    serverDer = pemToDer((await ca.issueFor(SERVER)).certPem)[0]!;
    otherDer = pemToDer((await ca.issueFor(OTHER)).certPem)[0]!;
    const me = await ca.issueFor("spiffe://t.test/ns/web/sa/client");
    creds = { id: "spiffe://t.test/ns/web/sa/client", certChainPem: me.certPem, keyPem: me.keyPem, trustAnchorsPem: ca.rootPem, notBefore: me.notBefore, notAfter: me.notAfter };
  });

  function setup(answer: TlsInfo | Error, withCreds = true) {
    const net = new FakeNet();
    void net.listen({ host: "127.0.0.1", port: 7000 }, () => undefined);
    const tls = new FakeTls(answer);
    const mesh = new MeshTls();
    if (withCreds) mesh.set(creds);
    return { dialer: createDialer(net, tls, mesh), tls, net, mesh };
  }

  const rejectsWith = async (p: Promise<unknown>, code: string, message?: RegExp) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(isMeshletError(e), String(e));
      assert.equal(e.code, code, e.message);
      if (message) assert.match(e.message, message);
      return true;
    });
  };

  it("plaintext endpoints get the plain connection, without TLS", async () => {
    const s = setup({ authorized: true, peerCertificate: serverDer });
    const c = await s.dialer.dial(ep(), "http/1.1", 1000);
    assert.equal(c.tls, undefined);
    assert.equal(s.net.connects, 1);
    assert.equal(s.tls.calls.length, 0);
  });

  it("meshed endpoints get mTLS straight to the address, with the proxy's certificate, its trust anchors, the ALPN asked for, no name check and the connect timeout", async () => {
    const s = setup({ authorized: true, peerCertificate: serverDer, alpn: "h2" });
    const c = await s.dialer.dial(ep(SERVER), "h2", 1000);
    assert.equal(c.tls?.alpn, "h2");
    const { target, cfg, opts } = s.tls.calls[0]!;
    assert.deepEqual(target, { host: "127.0.0.1", port: 7000 });
    assert.deepEqual(opts, { timeoutMs: 1000 });
    assert.equal(s.net.connects, 0, "no plaintext connection first");
    assert.deepEqual(cfg, { ca: creds.trustAnchorsPem, cert: creds.certChainPem, key: creds.keyPem, verifyServerName: false, alpn: ["h2"] });
  });

  it("another identity, an unverified chain or no certificate is tls-identity-mismatch, and the connection is dropped", async () => {
    for (const [info, message] of [
      [{ authorized: true, peerCertificate: otherDer }, /presented spiffe:\/\/t.test\/ns\/x\/sa\/other, expected spiffe:\/\/t.test\/ns\/api\/sa\/server/],
      [{ authorized: false, peerCertificate: serverDer }, /expected/],
      [{ authorized: true }, /presented no certificate/],
    ] as const) {
      const s = setup(info);
      await rejectsWith(s.dialer.dial(ep(SERVER), "http/1.1", 1000), "TLS_IDENTITY_MISMATCH", message);
      assert.equal(s.tls.made[0]!.closed, true, "the connection is dropped");
    }
  });

  it("a failed handshake is tls-identity-mismatch; connect failures and timeouts keep their codes", async () => {
    const s = setup(new MeshletError("TLS_FAILED", "TLS handshake failed: certificate signature failure"));
    await rejectsWith(s.dialer.dial(ep(SERVER), "http/1.1", 1000), "TLS_IDENTITY_MISMATCH", /did not prove identity .*certificate signature failure/);
    for (const code of ["CONNECT_REFUSED", "CONNECT_TIMEOUT"] as const) {
      await rejectsWith(setup(new MeshletError(code, "x")).dialer.dial(ep(SERVER), "http/1.1", 1000), code);
    }
  });

  it("without credentials yet a meshed endpoint is refused (never plaintext)", async () => {
    const s = setup({ authorized: true, peerCertificate: serverDer }, false);
    await rejectsWith(s.dialer.dial(ep(SERVER), "http/1.1", 1000), "TLS_FAILED", /no certificate yet/);
    assert.equal(s.net.connects + s.tls.calls.length, 0);
  });

  it("a peer that does not agree to h2 is PROTOCOL_UNSUPPORTED for an HTTP/2 pool", async () => {
    const s = setup({ authorized: true, peerCertificate: serverDer, alpn: "http/1.1" });
    await rejectsWith(s.dialer.dial(ep(SERVER), "h2", 1000), "PROTOCOL_UNSUPPORTED");
  });

  it("a rotation gives new TLS configs; none before the first credentials", async () => {
    const mesh = new MeshTls();
    assert.equal(mesh.server(), null);
    assert.equal(mesh.client("h2"), null);
    mesh.set(creds);
    const s1 = mesh.server()!;
    const c1 = mesh.client("h2")!;
    assert.equal(mesh.client("h2"), c1, "cached between rotations");
    assert.deepEqual(s1.alpn, ["h2", "http/1.1"]);
    assert.equal(s1.requestCert, true);
    mesh.set({ ...creds, certChainPem: `${creds.certChainPem}\n` });
    assert.notEqual(mesh.server(), s1);
    assert.notEqual(mesh.client("h2"), c1);
  });

  it("a client's identity counts only from a verified certificate", () => {
    const m = new MetricsStore();
    assert.deepEqual(
      [tlsPeer(m, "inbound", "10.0.0.1", { authorized: true, peerCertificate: serverDer })].map((p) => [p.tls, p.identity, p.tag.id]),
      [["true", SERVER, SERVER]],
    );
    assert.equal(tlsPeer(m, "inbound", "10.0.0.1", { authorized: false, peerCertificate: serverDer }).tls, "not_provided_by_remote");
    assert.equal(tlsPeer(m, "inbound", "10.0.0.1", { authorized: true }).identity, undefined);
    assert.equal(tlsPeer(m, "inbound", "10.0.0.1", { authorized: true, peerCertificate: new Uint8Array([1, 2, 3]) }).tls, "not_provided_by_remote");
  });
});
