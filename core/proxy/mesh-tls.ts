// The proxy's side of mesh mTLS: TLS configs built from the current credentials (rebuilt on rotation, so
// handshakes after it present the new certificate), and dialing an endpoint: plaintext, or mTLS to a meshed
// endpoint that must present exactly its configured SPIFFE ID.

import { isMeshletError, MeshletError } from "../errors.ts";
import type { TlsCredentials } from "../identity/credentials.ts";
import { peerSpiffeId } from "../identity/certificate-info.ts";
import type { Conn, Net, Tls, TlsClientConfig, TlsServerConfig } from "../ports.ts";
import type { Endpoint } from "./backend.ts";

/** ALPN offered to a meshed endpoint: what the pool will speak on the connection. */
export type DialAlpn = "h2" | "http/1.1" | null;

/** Server-side ALPN: HTTP/2 first, as clients that offer it prefer it. */
const SERVER_ALPN = ["h2", "http/1.1"];

export class MeshTls {
  private creds: TlsCredentials | null = null;
  private serverCfg: TlsServerConfig | null = null;
  private readonly clientCfgs = new Map<DialAlpn, TlsClientConfig>();

  /** Installs new credentials (or none); connections already open keep theirs. */
  set(c: TlsCredentials | null): void {
    this.creds = c;
    this.clientCfgs.clear();
    this.serverCfg = c === null ? null : {
      cert: c.certChainPem,
      key: c.keyPem,
      ca: c.trustAnchorsPem,
      requestCert: true,
      alpn: SERVER_ALPN,
    };
  }

  /** The inbound TLS config, null until credentials exist. */
  server(): TlsServerConfig | null {
    return this.serverCfg;
  }

  client(alpn: DialAlpn): TlsClientConfig | null {
    const c = this.creds;
    if (c === null) return null;
    let cfg = this.clientCfgs.get(alpn);
    if (cfg === undefined) {
      cfg = { ca: c.trustAnchorsPem, cert: c.certChainPem, key: c.keyPem, verifyServerName: false };
      if (alpn !== null) cfg.alpn = [alpn];
      this.clientCfgs.set(alpn, cfg);
    }
    return cfg;
  }
}

export interface Dialer {
  /** A connection to the endpoint (mTLS when it is meshed); rejects with CONNECT_*, TLS_FAILED or TLS_IDENTITY_MISMATCH. */
  dial(ep: Endpoint, alpn: DialAlpn, timeoutMs: number): Promise<Conn>;
}

export function createDialer(net: Net, tls: Tls, mesh: MeshTls): Dialer {
  return {
    async dial(ep, alpn, timeoutMs) {
      const expected = ep.identity;
      if (expected === undefined) return net.connect(ep.addr, { timeoutMs });
      const cfg = mesh.client(alpn);
      if (cfg === null) throw new MeshletError("TLS_FAILED", `no certificate yet to speak mTLS to ${ep.key}`);
      // TLS straight to the address (not over a Conn): runtimes then run it on their native socket. The connect
      // timeout covers the handshake; failures before it keep their CONNECT_* codes.
      let conn: Conn;
      try {
        conn = await tls.connect(ep.addr, cfg, { timeoutMs });
      } catch (err) {
        if (!isMeshletError(err, "TLS_FAILED")) throw err;
        throw new MeshletError("TLS_IDENTITY_MISMATCH", `${ep.key} did not prove identity ${expected}: ${err.message}`, { cause: err });
      }
      const info = conn.tls;
      const cert = info?.peerCertificate;
      const id = cert === undefined ? null : peerSpiffeId(cert);
      const presented = id === null ? "no certificate" : id.ok ? id.id.toString() : id.error;
      if (info?.authorized !== true || id === null || !id.ok || presented !== expected) {
        conn.destroy();
        throw new MeshletError("TLS_IDENTITY_MISMATCH", `${ep.key} presented ${presented}, expected ${expected}`);
      }
      if (alpn === "h2" && info.alpn !== "h2") {
        conn.destroy();
        throw new MeshletError("PROTOCOL_UNSUPPORTED", `${ep.key} did not agree to HTTP/2 (ALPN ${info.alpn ?? "none"})`);
      }
      return conn;
    },
  };
}
