// The Tls port over node:tls. Node uses it natively; Bun and Deno use it through their node:tls layers
// (Deno's own TLS server cannot request client certificates; Bun's native TLS sockets are a later optimisation).
import * as tls from "node:tls";
import { MeshletError } from "../../core/errors.ts";
import type { Socket } from "node:net";
import type { Addr, Conn, ConnectOptions as PortConnectOptions, Tls, TlsClientConfig, TlsInfo, TlsServerConfig } from "../../core/ports.ts";
import { connectError } from "./connect-errors.ts";
import { guardConnect } from "./connect-guard.ts";
import { connToDuplex } from "./conn-duplex.ts";
import { SocketConn } from "./socket-conn.ts";

function tlsInfo(s: tls.TLSSocket, sni: string | undefined): TlsInfo {
  const info: TlsInfo = { authorized: s.authorized };
  if (typeof s.alpnProtocol === "string" && s.alpnProtocol !== "") info.alpn = s.alpnProtocol;
  if (sni !== undefined && sni !== "") info.sni = sni;
  // getPeerX509Certificate() wraps the DER without converting the chain to JS objects as getPeerCertificate() does
  // (a visible share of a handshake's CPU on Node); older layers lack it.
  const x509 = typeof s.getPeerX509Certificate === "function" ? s.getPeerX509Certificate() : undefined;
  const raw = x509?.raw ?? (s.getPeerCertificate() as Partial<tls.PeerCertificate> | null)?.raw;
  if (raw !== undefined && raw.byteLength > 0) info.peerCertificate = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  return info;
}

function tlsFailed(err: unknown): MeshletError {
  if (err instanceof MeshletError) return err;
  return new MeshletError("TLS_FAILED", `TLS handshake failed: ${String((err as Error)?.message ?? err)}`, { cause: err });
}

function isConn(t: Conn | Addr): t is Conn {
  return typeof (t as Conn).setHandlers === "function";
}

// PEM material is parsed once per config object, not per handshake (on Node, OpenSSL 3 takes about a millisecond
// per context): each config object gets a cached SecureContext, on both sides. A credentials rotation hands new
// config objects, so WeakMaps keyed by them pick up the new material and let the old contexts go.
//
// Server side: node:tls only computes `authorized` (client certificate verification) for sockets a tls.Server
// accepts (a TLSSocket made with isServer leaves it false on Node and Deno), so the accepted stream is fed to a
// never-listening tls.Server with emit("connection"). A long-lived server per config object cannot be shared by
// concurrent accepts: its 'secureConnection' and 'tlsClientError' hand back only the TLSSocket, and finding the
// stream (so the accept) under it takes internal fields that differ per runtime (Node does not set `_parent` for
// non-socket streams; the stream is at socket._handle._parentWrap.stream). So each accept still gets a server, but a
// cheap one (a few µs): tls.Server takes no ready context, it builds one from PEM in setSecureContext() and hands its
// `_sharedCreds` to the sockets it wraps. AcceptServer skips that build and sets the cached context there, a field
// Node, Bun and Deno all read under that name (test/adapters/tls.cases.ts pins the handshakes on all three).
type ServerSocket = tls.TLSSocket & { servername?: string | false };

interface ServerSetup {
  ctx: tls.SecureContext;
  opts: tls.TlsOptions;
}

class AcceptServer extends tls.Server {
  constructor(setup: ServerSetup) {
    super(setup.opts);
    (this as unknown as { _sharedCreds: tls.SecureContext })._sharedCreds = setup.ctx;
  }

  // Called by the tls.Server constructor on Node and Deno (Bun calls its own, building a certificate-less context).
  override setSecureContext(): void {}
}

const serverSetups = new WeakMap<TlsServerConfig, ServerSetup>();

function serverSetup(cfg: TlsServerConfig): ServerSetup {
  let setup = serverSetups.get(cfg);
  if (setup !== undefined) return setup;
  const ctxOpts: tls.SecureContextOptions = {
    cert: cfg.cert,
    key: cfg.key,
    // As tls.Server builds its context. Without a session ID context, OpenSSL fails the handshake of a client that
    // resumes a session when client certificates are requested.
    sessionIdContext: "meshlet",
    honorCipherOrder: true,
  };
  if (cfg.ca !== undefined) ctxOpts.ca = cfg.ca;
  const opts: tls.TlsOptions & { allowHalfOpen?: boolean } = {
    requestCert: cfg.requestCert ?? false,
    // Authorization is the core's decision: it reads TlsInfo.authorized and the peer certificate.
    rejectUnauthorized: false,
    allowHalfOpen: true,
  };
  if (cfg.alpn !== undefined) opts.ALPNProtocols = cfg.alpn;
  setup = { ctx: tls.createSecureContext(ctxOpts), opts };
  serverSetups.set(cfg, setup);
  return setup;
}

// Client side: tls.connect takes a context (secureContext) and ignores ca/cert/key then.
type ConnectOptions = tls.ConnectionOptions & { allowHalfOpen?: boolean };

const clientOptions = new WeakMap<TlsClientConfig, ConnectOptions>();

function connectOptionsFor(cfg: TlsClientConfig): ConnectOptions {
  let opts = clientOptions.get(cfg);
  if (opts !== undefined) return opts;
  const ctxOpts: tls.SecureContextOptions = {};
  if (cfg.ca !== undefined) ctxOpts.ca = cfg.ca;
  if (cfg.cert !== undefined) ctxOpts.cert = cfg.cert;
  if (cfg.key !== undefined) ctxOpts.key = cfg.key;
  // allowHalfOpen is honoured by tls.connect (passed to the TLSSocket) but missing from its type.
  opts = { allowHalfOpen: true, rejectUnauthorized: true, secureContext: tls.createSecureContext(ctxOpts) };
  if (cfg.servername !== undefined) opts.servername = cfg.servername;
  if (cfg.alpn !== undefined) opts.ALPNProtocols = cfg.alpn;
  // The chain is still verified against `ca` (rejectUnauthorized); only the DNS-name check is skipped.
  if (cfg.verifyServerName === false) opts.checkServerIdentity = () => undefined;
  clientOptions.set(cfg, opts);
  return opts;
}

// Node's own TCP sockets (SocketConn over node:net) skip the JS stream: the TLS socket is made on the socket
// itself, so TLS runs on its native handle (the stream layer cost ~13 % of a pooled mTLS proxy's CPU), and the
// ClientHello bytes detection read are put back in front (node:tls reads what a socket has buffered). Made
// directly, without a tls.Server, so that this code holds the TLS socket: a client that gives up mid-handshake
// is seen ('end', 'close'), and the client certificate's verdict is read as tls.Server reads it (the handle's
// verifyError(); Node-only internals, pinned by test/adapters/tls.cases.ts on Node).
type NativeServerSocket = tls.TLSSocket & { servername?: string | false; _handle?: { verifyError?(): Error | null } };

function acceptNative(
  sock: Socket,
  conn: Conn,
  cfg: TlsServerConfig,
  preread: Uint8Array | undefined,
  resolve: (c: Conn) => void,
  reject: (e: unknown) => void,
): void {
  if (preread !== undefined && preread.byteLength > 0) sock.unshift(preread);
  const setup = serverSetup(cfg);
  const opts: tls.TLSSocketOptions & { allowHalfOpen?: boolean } = {
    isServer: true,
    secureContext: setup.ctx,
    requestCert: cfg.requestCert ?? false,
    rejectUnauthorized: false,
  };
  if (cfg.alpn !== undefined) opts.ALPNProtocols = cfg.alpn;
  const s = new tls.TLSSocket(sock, opts) as NativeServerSocket;
  let settled = false;
  const fail = (err: unknown) => {
    if (settled) return;
    settled = true;
    s.destroy();
    reject(tlsFailed(err));
  };
  s.on("_tlsError", fail);
  s.once("error", fail);
  s.once("end", () => fail(new Error("the client closed the connection during the TLS handshake")));
  s.once("close", () => fail(new Error("connection closed during the TLS handshake")));
  s.once("secure", () => {
    if (settled) return;
    settled = true;
    s.off("_tlsError", fail);
    // As tls.Server's own handler does: a requested client certificate is verified by OpenSSL, its verdict is here.
    const verifyError = cfg.requestCert ? s._handle?.verifyError?.() ?? null : null;
    s.authorized = cfg.requestCert === true && verifyError === null && s.getPeerX509Certificate() !== undefined;
    const sni = typeof s.servername === "string" ? s.servername : undefined;
    resolve(new SocketConn(s, tlsInfo(s, sni), conn, false));
  });
}

export function createNodeTls(): Tls {
  return {
    accept(conn: Conn, cfg: TlsServerConfig, preread?: Uint8Array): Promise<Conn> {
      return new Promise((resolve, reject) => {
        const sock: Socket | undefined = conn instanceof SocketConn ? conn.detachSocket() : undefined;
        if (sock !== undefined) return acceptNative(sock, conn, cfg, preread, resolve, reject);
        const srv = new AcceptServer(serverSetup(cfg));
        const stream = connToDuplex(conn, preread);
        let settled = false;
        srv.once("secureConnection", (s: ServerSocket) => {
          settled = true;
          const sni = typeof s.servername === "string" ? s.servername : undefined;
          resolve(new SocketConn(s, tlsInfo(s, sni), conn, false));
        });
        srv.once("tlsClientError", (err: Error, s: tls.TLSSocket) => {
          settled = true;
          s.destroy();
          reject(tlsFailed(err));
        });
        // A client that half-closes mid-handshake can never finish it, and with allowHalfOpen node:tls would wait
        // forever (no error, no close): fail the accept and close the connection instead of leaking it.
        stream.once("end", () => {
          if (!settled) stream.destroy();
        });
        stream.once("close", () => {
          if (!settled) {
            settled = true;
            reject(new MeshletError("TLS_FAILED", "connection closed during the TLS handshake"));
          }
        });
        srv.emit("connection", stream);
      });
    },

    connect(target: Conn | Addr, cfg: TlsClientConfig, guard?: PortConnectOptions): Promise<Conn> {
      let cancel = () => {};
      const attempt = new Promise<Conn>((resolve, reject) => {
        const opts: ConnectOptions = { ...connectOptionsFor(cfg) };
        const over = isConn(target) ? target : null;
        let connected = over !== null;
        if (over !== null) opts.socket = connToDuplex(over);
        else {
          const addr = target as Addr;
          opts.host = addr.host;
          opts.port = addr.port;
        }
        const s = tls.connect(opts);
        cancel = () => s.destroy();
        if (over === null) s.once("connect", () => {
          connected = true;
          s.setNoDelay(true);
        });
        const onError = (err: Error) => {
          s.destroy();
          reject(connected ? tlsFailed(err) : connectError(err, target as Addr));
        };
        s.once("error", onError);
        s.once("secureConnect", () => {
          s.off("error", onError);
          // rejectUnauthorized is left to three different TLS layers: none reports an unverified server today (Node 20,
          // Bun 1.4, Deno 2.9; pinned in tls.cases.ts), and this keeps a handshake from one that would from passing.
          if (!s.authorized) {
            s.destroy();
            reject(new MeshletError("TLS_FAILED", `TLS handshake failed: server certificate not trusted (${String(s.authorizationError ?? "unauthorized")})`));
            return;
          }
          const info = tlsInfo(s, cfg.servername);
          resolve(over !== null ? new SocketConn(s, info, over, false) : new SocketConn(s, info, undefined, false));
        });
      });
      if (guard === undefined || isConn(target)) return attempt;
      return guardConnect(target, guard, attempt, () => cancel(), (late) => late.destroy());
    },
  };
}
