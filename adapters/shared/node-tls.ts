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

let idle: tls.Server | undefined;
/** A never-listening tls.Server that accepted TLSSockets are attached to. */
function idleServer(): tls.Server {
  return (idle ??= new tls.Server());
}

export function createNodeTls(): Tls {
  return {
    accept(conn: Conn, cfg: TlsServerConfig, preread?: Uint8Array): Promise<Conn> {
      return new Promise((resolve, reject) => {
        const opts: tls.TLSSocketOptions = {
          isServer: true,
          // With a server attached, node:tls computes `authorized` for client certificates (it does not otherwise).
          server: idleServer(),
          secureContext: tls.createSecureContext({ cert: cfg.cert, key: cfg.key, ...(cfg.ca ? { ca: cfg.ca } : {}) }),
          requestCert: cfg.requestCert ?? false,
          // Authorization is the core's decision: it reads TlsInfo.authorized and the peer certificate.
          rejectUnauthorized: false,
        };
        if (cfg.alpn !== undefined) opts.ALPNProtocols = cfg.alpn;
        const s = new tls.TLSSocket(connToDuplex(conn, preread), opts);
        const onError = (err: Error) => {
          s.destroy();
          reject(tlsFailed(err));
        };
        s.once("error", onError);
        s.once("secure", () => {
          s.off("error", onError);
          const sni = (s as tls.TLSSocket & { servername?: string | false }).servername;
          resolve(new SocketConn(s, tlsInfo(s, typeof sni === "string" ? sni : undefined), conn, false));
        });
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
