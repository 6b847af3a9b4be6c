// What happens to each accepted connection: protocol detection (unless the port is opaque), then the HTTP/1
// engine, the HTTP/2 engine (h2c with prior knowledge), or an opaque byte tunnel to the listener's TCP target.
// TLS is recognised and refused until its engine exists.

import { concatBytes } from "../bytes.ts";
import { Detector, type Detected } from "../detect/detect.ts";
import { MeshletError } from "../errors.ts";
import type { ListenerProtocol } from "../config/types.ts";
import type { Conn } from "../ports.ts";
import type { TcpMetrics } from "../telemetry/types.ts";
import type { HttpContext } from "./context.ts";
import { Http1ServerConn } from "./http1-server.ts";
import { Http2ServerConn } from "./http2-server.ts";
import type { Endpoint } from "./routes.ts";
import { tunnel } from "./tunnel.ts";

export interface ListenerBehaviour {
  readonly name: string;
  readonly http: HttpContext;
  protocol(): ListenerProtocol;
  detect(): { timeoutMs: number; maxBytes: number };
  /** Where opaque TCP goes; undefined closes the connection. */
  tcpTarget(): Endpoint | undefined;
  log(level: "info" | "warn", msg: string, fields?: Record<string, unknown>): void;
}

/** A fatal TLS alert: handshake_failure. */
const TLS_REFUSAL = new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

export function acceptConnection(conn: Conn, l: ListenerBehaviour): void {
  const metrics = l.http.metrics.tcp(l.http.direction, "src", l.name);
  metrics.opened();
  if (l.protocol() === "opaque") return forwardOpaque(conn, metrics, new Uint8Array(0), l);

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
    handedOff = kind === "http1" || kind === "h2" || kind === "opaque";
    cancelTimer();
    try {
      handOver(kind);
    } finally {
      untrack(); // after the new owner tracks the connection, so a drain never sees it untracked
    }
  };
  const handOver = (kind: Detected) => {
    const bytes = detector.bytes;
    switch (kind) {
      case "http1":
        // Paused so nothing arrives before the engine is set up; the engine resumes unless its first request
        // waits for an upstream connection.
        conn.pause();
        new Http1ServerConn(conn, l.http, metrics, bytes, ended);
        return;
      case "h2":
        conn.pause();
        new Http2ServerConn(conn, l.http, metrics, bytes);
        conn.resume();
        return;
      case "tls":
        l.log("warn", "refused a TLS connection: TLS termination is not supported yet", { remote: conn.remote.host });
        metrics.written(TLS_REFUSAL.length);
        conn.write(TLS_REFUSAL);
        conn.close();
        return;
      case "opaque":
        forwardOpaque(conn, metrics, bytes, l, ended);
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

function forwardOpaque(conn: Conn, metrics: TcpMetrics, preread: Uint8Array, l: ListenerBehaviour, endedEarly = false): void {
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
  http.net.connect(target.addr, { timeoutMs: http.connectTimeoutMs() }).then(
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
