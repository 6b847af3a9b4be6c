// The Tls port over node:tls. Node uses it natively; Bun and Deno use it through their node:tls layers
// (Deno's own TLS server cannot request client certificates; Bun's native TLS sockets are a later optimisation).
import * as tls from "node:tls";
import { MeshletError } from "../../core/errors.ts";
import type { Addr, Conn, Tls, TlsClientConfig, TlsInfo, TlsServerConfig } from "../../core/ports.ts";
import { connectError } from "./connect-errors.ts";
import { connToDuplex } from "./conn-duplex.ts";
import { SocketConn } from "./socket-conn.ts";

function tlsInfo(s: tls.TLSSocket, sni: string | undefined): TlsInfo {
  const info: TlsInfo = { authorized: s.authorized };
  if (typeof s.alpnProtocol === "string" && s.alpnProtocol !== "") info.alpn = s.alpnProtocol;
  if (sni !== undefined && sni !== "") info.sni = sni;
  const peer = s.getPeerCertificate() as Partial<tls.PeerCertificate> | null;
  if (peer?.raw !== undefined && peer.raw.byteLength > 0) {
    info.peerCertificate = new Uint8Array(peer.raw.buffer, peer.raw.byteOffset, peer.raw.byteLength);
  }
  return info;
}

function tlsFailed(err: unknown): MeshletError {
  if (err instanceof MeshletError) return err;
  return new MeshletError("TLS_FAILED", `TLS handshake failed: ${String((err as Error)?.message ?? err)}`, { cause: err });
}

function isConn(t: Conn | Addr): t is Conn {
  return typeof (t as Conn).setHandlers === "function";
}

// Server side: node:tls only computes `authorized` (client certificate verification) for sockets a tls.Server
// accepts, so the accepted stream is fed to a never-listening tls.Server with emit("connection"). One server per
// handshake keeps the match trivial (a shared server would have to match sockets by internal fields, which Node
// does not set for non-socket streams); its cost is parsing the PEM material per accept: cache a SecureContext
// here if mTLS accept rates make it show in a profile.
type ServerSocket = tls.TLSSocket & { servername?: string | false };

const serverOptions = new WeakMap<TlsServerConfig, tls.TlsOptions>();

function optionsFor(cfg: TlsServerConfig): tls.TlsOptions {
  let opts = serverOptions.get(cfg);
  if (opts !== undefined) return opts;
  const o: tls.TlsOptions & { allowHalfOpen?: boolean } = {
    cert: cfg.cert,
    key: cfg.key,
    requestCert: cfg.requestCert ?? false,
    // Authorization is the core's decision: it reads TlsInfo.authorized and the peer certificate.
    rejectUnauthorized: false,
    allowHalfOpen: true,
  };
  if (cfg.ca !== undefined) o.ca = cfg.ca;
  if (cfg.alpn !== undefined) o.ALPNProtocols = cfg.alpn;
  serverOptions.set(cfg, o);
  return o;
}

export function createNodeTls(): Tls {
  return {
    accept(conn: Conn, cfg: TlsServerConfig, preread?: Uint8Array): Promise<Conn> {
      return new Promise((resolve, reject) => {
        const srv = new tls.Server(optionsFor(cfg));
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

    connect(target: Conn | Addr, cfg: TlsClientConfig): Promise<Conn> {
      return new Promise((resolve, reject) => {
        // allowHalfOpen is honoured by tls.connect (passed to the TLSSocket) but missing from its type.
        const opts: tls.ConnectionOptions & { allowHalfOpen?: boolean } = { allowHalfOpen: true, rejectUnauthorized: true };
        if (cfg.servername !== undefined) opts.servername = cfg.servername;
        if (cfg.alpn !== undefined) opts.ALPNProtocols = cfg.alpn;
        if (cfg.ca !== undefined) opts.ca = cfg.ca;
        if (cfg.cert !== undefined) opts.cert = cfg.cert;
        if (cfg.key !== undefined) opts.key = cfg.key;
        const over = isConn(target) ? target : null;
        let connected = over !== null;
        if (over !== null) opts.socket = connToDuplex(over);
        else {
          const addr = target as Addr;
          opts.host = addr.host;
          opts.port = addr.port;
        }
        const s = tls.connect(opts);
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
          const info = tlsInfo(s, cfg.servername);
          resolve(over !== null ? new SocketConn(s, info, over, false) : new SocketConn(s, info, undefined, false));
        });
      });
    },
  };
}
