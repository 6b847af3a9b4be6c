// The Tls port as the mesh uses it, on each runtime: SPIFFE certificates from LocalCa (a URI SAN only, no DNS
// name), mTLS accept after detection (the ClientHello as preread), connect with verifyServerName: false, the
// verdicts the core reads (authorized, peerCertificate) for foreign, expired and missing client certificates,
// credential rotation, and failures that must not hang. node.test.ts, bun.test.ts and deno.test.ts each import this
// file, which registers its cases with node:test under the runtime's name.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { test } from "node:test";
import * as tls from "node:tls";
import { LocalCa, pemBlocks } from "../../adapters/shared/certs.ts";
import { isMeshletError } from "../../core/errors.ts";
import type { Conn, Runtime, TlsClientConfig, TlsServerConfig } from "../../core/ports.ts";
import { Recorder, deferred, server, withTimeout } from "./ports.cases.ts";
import { API, HOST, HOUR, runtimeName, TD, WEB } from "../support/identity-fixtures.ts";

export interface TlsCase {
  name: string;
  run(rt: Runtime): Promise<void>;
}

const enc = new TextEncoder();

const der = (certPem: string): Uint8Array => pemBlocks(certPem, "CERTIFICATE")[0]!;
const spiffeIdOf = (cert: Uint8Array | undefined): string | undefined =>
  cert === undefined ? undefined : new X509Certificate(cert).subjectAltName?.replace(/^URI:/, "");
const tlsFailed = (e: unknown): boolean => {
  assert.ok(isMeshletError(e, "TLS_FAILED"), `expected MeshletError TLS_FAILED, got ${String(e)}`);
  return true;
};

interface Mesh {
  ca: LocalCa;
  /** The server's config, as the inbound listener would build it from the proxy's credentials. */
  serverCfg: TlsServerConfig;
  /** The client's config for an outbound connection to a meshed endpoint. */
  clientCfg(alpn?: string[]): TlsClientConfig;
  serverCert: string;
  clientCert: string;
}

async function mesh(): Promise<Mesh> {
  const ca = await LocalCa.create({ trustDomain: TD });
  const srv = await ca.issueFor(API);
  const cli = await ca.issueFor(WEB);
  return {
    ca,
    serverCfg: { cert: srv.certPem, key: srv.keyPem, ca: ca.rootPem, requestCert: true, alpn: ["h2", "http/1.1"] },
    clientCfg: (alpn = ["h2", "http/1.1"]) => ({ ca: ca.rootPem, cert: cli.certPem, key: cli.keyPem, alpn, verifyServerName: false }),
    serverCert: srv.certPem,
    clientCert: cli.certPem,
  };
}

/**
 * A listener whose next connection is detected as the proxy does (the first bytes read, then handed over as
 * `preread`) and accepted with the config `cfgFor()` returns at that moment.
 */
async function tlsServer(rt: Runtime, cfgFor: () => TlsServerConfig) {
  const s = await server(rt);
  return {
    port: s.l.local.port,
    /** The accept of the next connection; rejects as accept() does. */
    async accept(): Promise<Conn> {
      const raw = await s.next();
      const first = deferred<Uint8Array>();
      raw.setHandlers({ data: (b) => { raw.pause(); first.resolve(b); }, end() {}, close() {} });
      const preread = await withTimeout(first.promise, 5000, "first bytes");
      return rt.tls.accept(raw, cfgFor(), preread);
    },
    close: () => s.l.close(),
  };
}

/** Connects and accepts one TLS connection; the accept outcome is returned as is (it may reject). */
async function handshake(rt: Runtime, srv: Awaited<ReturnType<typeof tlsServer>>, cfg: TlsClientConfig) {
  const accepted = srv.accept();
  accepted.catch(() => {});
  const client = await rt.tls.connect({ host: HOST, port: srv.port }, cfg);
  const conn = await withTimeout(accepted, 5000, "tls accept");
  return { client, conn };
}

/** Sends `msg` each way and closes both ends: the connection carries data after the handshake. */
async function exchange(client: Conn, conn: Conn, msg: string): Promise<void> {
  const c = new Recorder();
  const s = new Recorder();
  s.onData = () => {
    if (s.text() === msg) conn.write(enc.encode(msg.toUpperCase()));
  };
  s.onEnd = () => conn.close();
  client.setHandlers(c);
  conn.setHandlers(s);
  client.write(enc.encode(msg));
  await withTimeout(new Promise<void>((r) => (c.onData = () => c.text() === msg.toUpperCase() && r())), 5000, "tls reply");
  client.close();
  await withTimeout(Promise.all([c.closed.promise, s.closed.promise]), 5000, "tls close");
}

/** Waits until the accept `p` rejects, or resolves with a connection that then closes: a handshake the client gave up. */
async function settlesOrCloses(p: Promise<Conn>, what: string): Promise<{ rejected?: unknown; closed?: true }> {
  const outcome = await withTimeout(p.then((c) => ({ conn: c }), (e: unknown) => ({ rejected: e })), 5000, what);
  if ("rejected" in outcome) return { rejected: outcome.rejected };
  // A well-behaved peer answers the client's FIN with its own (Deno's destroy() sends FIN, not RST).
  const r = new Recorder();
  r.onEnd = () => outcome.conn.close();
  outcome.conn.setHandlers(r);
  await withTimeout(r.closed.promise, 5000, `${what}: close`);
  return { closed: true };
}

export const tlsCases: TlsCase[] = [
  {
    name: "mTLS with SPIFFE-only certificates: accept with preread, verifyServerName false, ALPN, both peers verified",
    async run(rt) {
      const m = await mesh();
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        const { client, conn } = await handshake(rt, srv, m.clientCfg(["h2", "http/1.1"]));
        assert.equal(client.tls?.alpn, "h2");
        assert.equal(conn.tls?.alpn, "h2");
        assert.equal(client.tls?.authorized, true);
        assert.equal(conn.tls?.authorized, true);
        assert.deepEqual(conn.tls?.peerCertificate, der(m.clientCert));
        assert.deepEqual(client.tls?.peerCertificate, der(m.serverCert));
        assert.equal(spiffeIdOf(conn.tls?.peerCertificate), WEB);
        assert.equal(spiffeIdOf(client.tls?.peerCertificate), API);
        await exchange(client, conn, "hello over h2");

        const h1 = await handshake(rt, srv, m.clientCfg(["http/1.1"]));
        assert.equal(h1.client.tls?.alpn, "http/1.1");
        assert.equal(h1.conn.tls?.alpn, "http/1.1");
        assert.equal(h1.conn.tls?.authorized, true);
        await exchange(h1.client, h1.conn, "hello over http/1.1");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "verifyServerName defaults to true: a SPIFFE-only server certificate fails the name check with TLS_FAILED",
    async run(rt) {
      const m = await mesh();
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        const accepted = srv.accept();
        const { verifyServerName: _, ...named } = m.clientCfg();
        await assert.rejects(rt.tls.connect({ host: HOST, port: srv.port }, { ...named, servername: "api.example.org" }), tlsFailed);
        await settlesOrCloses(accepted, "accept of a client that rejected the server");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "client certificate from another CA: accept resolves with authorized false and the peer certificate",
    async run(rt) {
      const m = await mesh();
      const other = await LocalCa.create({ trustDomain: TD });
      const foreign = await other.issueFor(WEB);
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        const { client, conn } = await handshake(rt, srv, { ...m.clientCfg(), cert: foreign.certPem, key: foreign.keyPem });
        assert.equal(conn.tls?.authorized, false);
        assert.deepEqual(conn.tls?.peerCertificate, der(foreign.certPem));
        assert.equal(client.tls?.authorized, true);
        await exchange(client, conn, "foreign");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "no client certificate: accept resolves with authorized false and no peer certificate",
    async run(rt) {
      const m = await mesh();
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        const { cert: _c, key: _k, ...anonymous } = m.clientCfg();
        const { client, conn } = await handshake(rt, srv, anonymous);
        assert.equal(conn.tls?.authorized, false);
        assert.equal(conn.tls?.peerCertificate, undefined);
        assert.equal(client.tls?.authorized, true);
        assert.deepEqual(client.tls?.peerCertificate, der(m.serverCert));
        await exchange(client, conn, "anonymous");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "expired client certificate: accept resolves with authorized false and the peer certificate",
    async run(rt) {
      const m = await mesh();
      const now = Date.now();
      const expired = await m.ca.issueFor(WEB, { notBefore: now - 2 * HOUR, notAfter: now - HOUR });
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        const { client, conn } = await handshake(rt, srv, { ...m.clientCfg(), cert: expired.certPem, key: expired.keyPem });
        assert.equal(conn.tls?.authorized, false);
        assert.deepEqual(conn.tls?.peerCertificate, der(expired.certPem));
        await exchange(client, conn, "expired");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "server certificate from another CA or expired, verifyServerName false: connect rejects with TLS_FAILED, accept ends",
    async run(rt) {
      const m = await mesh();
      const other = await LocalCa.create({ trustDomain: TD });
      const now = Date.now();
      const impostors = {
        "another CA": await other.issueFor(API),
        expired: await m.ca.issueFor(API, { notBefore: now - 2 * HOUR, notAfter: now - HOUR }),
      };
      let serverCfg = m.serverCfg;
      const srv = await tlsServer(rt, () => serverCfg);
      try {
        for (const [what, cert] of Object.entries(impostors)) {
          serverCfg = { ...m.serverCfg, cert: cert.certPem, key: cert.keyPem };
          for (const over of [false, true]) {
            const label = `${what}, connect ${over ? "over a Conn" : "to an address"}`;
            const accepted = srv.accept();
            const target = over ? await rt.net.connect({ host: HOST, port: srv.port }) : { host: HOST, port: srv.port };
            await assert.rejects(withTimeout(rt.tls.connect(target, m.clientCfg()), 5000, `connect (${label})`), tlsFailed);
            const end = await settlesOrCloses(accepted, `accept (${label})`);
            if (end.rejected !== undefined) tlsFailed(end.rejected);
          }
        }
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "a client resuming a session (node:tls with the session of its first connection) is served with the same verdicts",
    async run(rt) {
      const m = await mesh();
      const client = m.clientCfg();
      const srv = await tlsServer(rt, () => m.serverCfg);
      try {
        let session: Buffer | undefined;
        const reused: boolean[] = [];
        for (let i = 0; i < 2; i++) {
          const accepted = srv.accept();
          const reply = withTimeout(
            new Promise<string>((resolve, reject) => {
              const s = tls.connect({
                host: HOST, port: srv.port, ca: client.ca, cert: client.cert, key: client.key, session,
                checkServerIdentity: () => undefined,
              });
              let got = "";
              s.on("session", (b: Buffer) => (session = b));
              s.once("secureConnect", () => reused.push(s.isSessionReused()));
              s.on("data", (d: Buffer) => (got += d.toString()));
              s.once("error", reject);
              s.once("end", () => {
                s.end();
                resolve(got);
              });
            }),
            5000,
            `node:tls client ${i}`,
          );
          reply.catch(() => {}); // awaited below, unless the accept fails first
          const conn = await withTimeout(accepted, 5000, `accept ${i}`);
          assert.equal(conn.tls?.authorized, true, `connection ${i}`);
          assert.deepEqual(conn.tls?.peerCertificate, der(m.clientCert), `connection ${i}`);
          conn.setHandlers({ data() {}, end() {}, close() {} });
          conn.write(enc.encode(`ok ${i}`));
          conn.close();
          assert.equal(await reply, `ok ${i}`);
          // Wait for the ticket (TLS 1.3 sends it after the handshake) before resuming with it.
          if (i === 0) await withTimeout(new Promise<void>((r) => { const t = setInterval(() => session && (clearInterval(t), r()), 5); }), 5000, "session ticket");
        }
        // Deno's node:tls does not resume sessions (a full handshake each time); Node and Bun do.
        assert.deepEqual(reused, [false, runtimeName !== "deno"]);
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "rotation: new config objects present the new certificates; connections made before keep working",
    async run(rt) {
      const m = await mesh();
      const srv2 = await m.ca.issueFor(API);
      const cli2 = await m.ca.issueFor(WEB);
      const client1 = m.clientCfg();
      const client2 = { ...client1, cert: cli2.certPem, key: cli2.keyPem };
      let serverCfg = m.serverCfg;
      const srv = await tlsServer(rt, () => serverCfg);
      try {
        const before = await handshake(rt, srv, client1);
        assert.deepEqual(before.client.tls?.peerCertificate, der(m.serverCert));
        assert.deepEqual(before.conn.tls?.peerCertificate, der(m.clientCert));

        serverCfg = { ...m.serverCfg, cert: srv2.certPem, key: srv2.keyPem };
        // The server has rotated, this client not yet: each side presents its current certificate.
        const half = await handshake(rt, srv, client1);
        assert.deepEqual(half.client.tls?.peerCertificate, der(srv2.certPem));
        assert.deepEqual(half.conn.tls?.peerCertificate, der(m.clientCert));
        const after = await handshake(rt, srv, client2);
        assert.deepEqual(after.client.tls?.peerCertificate, der(srv2.certPem));
        assert.deepEqual(after.conn.tls?.peerCertificate, der(cli2.certPem));
        for (const h of [half, after]) {
          assert.equal(h.conn.tls?.authorized, true);
          assert.equal(h.client.tls?.authorized, true);
        }

        await exchange(before.client, before.conn, "before the rotation");
        await exchange(half.client, half.conn, "server rotated");
        await exchange(after.client, after.conn, "both rotated");
      } finally {
        await srv.close();
      }
    },
  },
  {
    name: "a plaintext client sending garbage: accept rejects with TLS_FAILED and the connection is closed",
    async run(rt) {
      const m = await mesh();
      const s = await server(rt);
      try {
        for (const preread of [true, false]) {
          const accepted = s.next().then(async (raw) => {
            if (!preread) return rt.tls.accept(raw, m.serverCfg);
            const first = deferred<Uint8Array>();
            raw.setHandlers({ data: (b) => { raw.pause(); first.resolve(b); }, end() {}, close() {} });
            return rt.tls.accept(raw, m.serverCfg, await first.promise);
          });
          const plain = await rt.net.connect({ host: HOST, port: s.l.local.port });
          const r = new Recorder();
          r.onEnd = () => plain.close();
          plain.setHandlers(r);
          plain.write(enc.encode("GET / HTTP/1.1\r\nhost: api\r\n\r\n"));
          await assert.rejects(withTimeout(accepted, 5000, `accept of plaintext (preread: ${preread})`), tlsFailed);
          await withTimeout(r.closed.promise, 5000, `plaintext client closed (preread: ${preread})`);
        }
      } finally {
        await s.l.close();
      }
    },
  },
];

// Registration: a computed specifier, so the Node typecheck does not follow the Bun and Deno adapters.
const adapter = `../../adapters/${runtimeName}/runtime.ts`;
const { createRuntime } = (await import(adapter)) as { createRuntime(): Runtime };
const rt = createRuntime();
for (const c of tlsCases) test(`${runtimeName}: tls: ${c.name}`, () => c.run(rt));
