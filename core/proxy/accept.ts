// What happens to each accepted connection: protocol detection (unless the port is opaque), then the HTTP/1
// engine, the HTTP/2 engine (h2c with prior knowledge), or an opaque byte tunnel to the listener's TCP target.
// TLS is terminated where the listener has a certificate (the inbound port with an identity): the client's
// identity is learned from its certificate and detection runs again on the decrypted bytes (ALPN h2 and
// http/1.1 skip it). Elsewhere TLS is refused.

import { concatBytes } from "../bytes.ts";
import { Detector, type Detected } from "../detect/detect.ts";
import { MeshletError } from "../errors.ts";
import type { ListenerProtocol } from "../config/types.ts";
import type { Conn, Tls, TlsServerConfig } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";
import type { HttpContext } from "./context.ts";
import { Http1ServerConn } from "./http1-server.ts";
import { Http2ServerConn } from "./http2-server.ts";
import type { Endpoint } from "./routes.ts";
import { plaintextPeer, tlsPeer, type ClientPeer } from "./peer.ts";
import { tunnel } from "./tunnel.ts";

export interface ListenerBehaviour {
  readonly name: string;
  readonly http: HttpContext;
  protocol(): ListenerProtocol;
  detect(): { timeoutMs: number; maxBytes: number };
  /** Where opaque TCP goes; undefined closes the connection. */
  tcpTarget(): Endpoint | undefined;
  /** TLS termination on this listener, or null (no certificate here, or none yet). */
  tls(): { port: Tls; config: TlsServerConfig } | null;
  log(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
}

/** A fatal TLS alert: handshake_failure. */
const TLS_REFUSAL = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

export function acceptConnection(conn: Conn, l: ListenerBehaviour): void {
  const metrics = l.http.metrics.tcp(l.http.direction, "src", l.name);
  metrics.opened();
  if (l.protocol() === "opaque") return forwardOpaque(conn, metrics, new Uint8Array(0), l, plainPeer(conn, l));
  detectAndServe(conn, l, metrics, null);
}

function plainPeer(conn: Conn, l: ListenerBehaviour): ClientPeer {
  return plaintextPeer(l.http.metrics, l.http.direction, conn.remote.host);
}

/** Detects the protocol on `conn` and hands it over; `peer` is set once TLS was terminated (no TLS inside TLS). */
function detectAndServe(conn: Conn, l: ListenerBehaviour, metrics: TcpMetrics, peer: ClientPeer | null): void {
  const { timeoutMs, maxBytes } = l.detect();
  const detector = new Detector(maxBytes);
  let decided = false;
  let ended = false;
  let readAny = false;
  /** Set once another handler owns the connection (and counts its close). */
  let handedOff = false;
  // Shutdown closes a connection that has sent nothing yet, and waits for one in the middle of detection.
  const untrack = l.http.track({ drain: () => void (readAny || conn.close()), destroy: () => conn.destroy() });
  const decide = (kind: Detected) => {
    if (decided) return;
    decided = true;
    handedOff = kind === "http1" || kind === "h2" || kind === "opaque" || (kind === "tls" && peer === null && l.tls() !== null);
    cancelTimer();
    try {
      handOver(kind);
    } finally {
      untrack(); // after the new owner tracks the connection, so a drain never sees it untracked
    }
  };
  const handOver = (kind: Detected) => {
    const bytes = detector.bytes;
    const client = peer ?? plainPeer(conn, l);
    switch (kind) {
      case "http1":
        // Paused so nothing arrives before the engine is set up; the engine resumes unless its first request
        // waits for an upstream connection.
        conn.pause();
        new Http1ServerConn(conn, l.http, metrics, client, bytes, ended);
        return;
      case "h2":
        conn.pause();
        new Http2ServerConn(conn, l.http, metrics, client, bytes);
        conn.resume();
        return;
      case "tls": {
        const tls = peer === null ? l.tls() : null;
        if (tls !== null) return terminateTls(conn, l, metrics, tls, bytes);
        l.log("warn", peer === null ? "refused a TLS connection: this listener has no certificate (no identity configured)"
          : "refused TLS inside TLS", { listener: l.name, remote: conn.remote.host });
        metrics.written(TLS_REFUSAL.length);
        conn.write(TLS_REFUSAL);
        conn.close();
        return;
      }
      case "opaque":
        forwardOpaque(conn, metrics, bytes, l, client, ended);
        return;
    }
  };
  let closed = false;
  const cancelTimer = l.http.clock.setTimer(timeoutMs, () => decide(detector.finish()));
  conn.setHandlers({
    data(chunk) {
      metrics.read(chunk.length);
      readAny = true;
      const r = detector.push(chunk);
      if (r !== "more") decide(r);
    },
    end() {
      ended = true;
      if (!decided) decide(detector.finish());
    },
    close() {
      if (closed || handedOff) return;
      closed = true;
      decided = true;
      cancelTimer();
      untrack();
      metrics.closed();
    },
  });
}

/** Terminates TLS (the ClientHello bytes detection read are replayed), then serves what is inside. */
function terminateTls(
  raw: Conn,
  l: ListenerBehaviour,
  metrics: TcpMetrics,
  tls: { port: Tls; config: TlsServerConfig },
  clientHello: Uint8Array,
): void {
  // The handshake gets the detection timeout; shutdown closes a connection still in its handshake.
  let settled = false;
  const untrack = l.http.track({ drain: () => raw.destroy(), destroy: () => raw.destroy() });
  const cancel = l.http.clock.setTimer(l.detect().timeoutMs, () => {
    if (!settled) raw.destroy();
  });
  const finish = () => {
    settled = true;
    cancel();
  };
  tls.port.accept(raw, tls.config, clientHello).then(
    (conn) => {
      finish();
      const peer = tlsPeer(l.http.metrics, l.http.direction, conn.remote.host, conn.tls);
      try {
        const alpn = conn.tls?.alpn;
        if (alpn === "h2") {
          conn.pause();
          new Http2ServerConn(conn, l.http, metrics, peer, new Uint8Array(0));
          conn.resume();
        } else if (alpn === "http/1.1") {
          conn.pause();
          new Http1ServerConn(conn, l.http, metrics, peer, new Uint8Array(0), false);
        } else detectAndServe(conn, l, metrics, peer);
      } finally {
        untrack();
      }
    },
    (err: unknown) => {
      finish();
      untrack();
      raw.destroy();
      metrics.closed();
      l.log("info", "TLS handshake failed", { listener: l.name, remote: raw.remote.host, error: (err as Error)?.message ?? String(err) });
    },
  );
}

function forwardOpaque(
  conn: Conn,
  metrics: TcpMetrics,
  preread: Uint8Array,
  l: ListenerBehaviour,
  peer: ClientPeer,
  endedEarly = false,
): void {
  const authz = l.http.authz();
  if (authz !== null) {
    const o = authz.tcp(peer);
    l.http.metrics.authz("tcp", o, peer.tag);
    if (!o.allowed) {
      l.log("info", "closed an unauthorized TCP connection", { listener: l.name, remote: peer.address, client_id: peer.identity ?? "" });
      conn.destroy();
      metrics.closed();
      return;
    }
  }
  const target = l.tcpTarget();
  if (target === undefined) {
    l.log("warn", "closed a non-HTTP connection: no TCP target for this listener", { listener: l.name });
    conn.destroy();
    metrics.closed();
    return;
  }
  // Hold the client until the upstream answers; remember a FIN or close that arrives meanwhile.
  const held: Uint8Array[] = preread.length > 0 ? [preread] : [];
  let clientEnded = endedEarly;
  let clientClosed = false;
  conn.pause();
  conn.setHandlers({
    data(chunk) {
      metrics.read(chunk.length);
      held.push(chunk);
    },
    end() {
      clientEnded = true;
    },
    close() {
      clientClosed = true;
      metrics.closed();
    },
  });
  const { http } = l;
  http.dialer.dial(target, null, http.connectTimeoutMs()).then(
    (up) => {
      if (clientClosed) {
        up.destroy();
        return;
      }
      const upMetrics = http.metrics.tcp(http.direction, "dst", target.key);
      upMetrics.opened();
      let pending: Uint8Array | undefined;
      if (held.length === 1) pending = held[0];
      else if (held.length > 1) pending = concatBytes(held);
      const untrack = http.track({ drain() {}, destroy: () => t.destroy() });
      const t = tunnel({ conn, metrics }, { conn: up, metrics: upMetrics }, {
        aPending: pending,
        aEnded: clientEnded,
        onClose() {
          untrack();
          metrics.closed();
          upMetrics.closed();
        },
      });
    },
    (err: unknown) => {
      const code = err instanceof MeshletError ? err.code : "CONNECT_FAILED";
      l.log("warn", "opaque TCP upstream unreachable; closing the client connection", { target: target.key, code });
      conn.destroy();
    },
  );
}
