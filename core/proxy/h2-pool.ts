// Multiplexed HTTP/2 (h2c) connections to endpoints: one connection per endpoint carries many streams; another
// opens when every connection is at the peer's concurrent-stream limit or going away. Concurrent requests that
// find no connection share the one being established instead of each opening its own.

import { MeshletError } from "../errors.ts";
import type { PoolConfig } from "../config/types.ts";
import { Http2Connection, type Http2Options } from "../http2/connection.ts";
import type { Clock } from "../ports.ts";
import type { Direction, ProxyMetrics } from "../telemetry/types.ts";
import { H2StreamTry } from "./h2-upstream.ts";
import { MeteredConn } from "./metered-conn.ts";
import type { Dialer } from "./mesh-tls.ts";
import type { Endpoint } from "./routes.ts";

interface PooledH2 {
  readonly h2: Http2Connection;
  /** Monotonic time its last stream ended (for the idle timeout). */
  idleSince: number;
}

class EndpointH2Pool {
  readonly conns: PooledH2[] = [];
  connecting: Promise<PooledH2> | null = null;
}

export type H2Settings = Omit<Http2Options, "role" | "clock">;

/** How long an endpoint found to be HTTP/1-only is spoken to in HTTP/1.1 before HTTP/2 is tried again. */
const HTTP1_MEMORY_MS = 10 * 60_000;

export class H2Pools {
  private readonly pools = new Map<string, EndpointH2Pool>();
  /** Endpoints that answered HTTP/2 with something else, until when (monotonic ms): "auto" speaks HTTP/1.1 to them. */
  private readonly http1Until = new Map<string, number>();
  private liveKeys: Set<string> | null = null;
  private sweepCancel: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly dialer: Dialer,
    private readonly clock: Clock,
    private cfg: PoolConfig,
    private readonly metrics: ProxyMetrics,
    private readonly direction: Direction,
    private readonly settings: () => H2Settings,
  ) {}

  /** The endpoint does not speak HTTP/2 (prior knowledge), as learned within the last HTTP1_MEMORY_MS. */
  isHttp1(key: string, now: number): boolean {
    if (this.http1Until.size === 0) return false;
    const until = this.http1Until.get(key);
    if (until === undefined) return false;
    if (now < until) return true;
    this.http1Until.delete(key);
    return false;
  }

  markHttp1(key: string, now: number): void {
    this.http1Until.set(key, now + HTTP1_MEMORY_MS);
  }

  /** A stream on an open connection with room for one more, if there is one (no Promise on this path). */
  take(ep: Endpoint): H2StreamTry | undefined {
    const pool = this.pools.get(ep.pool);
    if (pool === undefined) return undefined;
    for (const c of pool.conns) if (c.h2.canOpenStream) return new H2StreamTry(c.h2, ep);
    return undefined;
  }

  /** A stream on a new connection (or the one being established); rejects with CONNECT_* codes. */
  async connect(ep: Endpoint): Promise<H2StreamTry> {
    for (;;) {
      if (this.closed) throw new MeshletError("SHUTTING_DOWN", "proxy is shutting down");
      const pool = this.poolFor(ep.pool);
      const c = await (pool.connecting ??= this.open(ep, pool));
      if (c.h2.canOpenStream) return new H2StreamTry(c.h2, ep);
      const other = this.take(ep);
      if (other !== undefined) return other;
      if (c.h2.closed) throw new MeshletError("CONNECT_RESET", `the HTTP/2 connection to ${ep.key} closed at once`);
      // The fresh connection is already full: open another.
    }
  }

  /** Drops connections to endpoints no longer configured once their streams end. */
  update(cfg: PoolConfig, liveEndpointKeys: Set<string>): void {
    this.cfg = cfg;
    this.liveKeys = liveEndpointKeys;
    for (const [key, pool] of this.pools) if (!liveEndpointKeys.has(key)) for (const c of pool.conns) c.h2.shutdown();
  }

  close(): void {
    this.closed = true;
    this.sweepCancel?.();
    for (const pool of this.pools.values()) for (const c of pool.conns) c.h2.shutdown();
  }

  connectionCount(key: string): number {
    return this.pools.get(key)?.conns.length ?? 0;
  }

  private async open(ep: Endpoint, pool: EndpointH2Pool): Promise<PooledH2> {
    try {
      const raw = await this.dialer.dial(ep, "h2", this.cfg.connectTimeoutMs);
      const tcp = this.metrics.tcp(this.direction, "dst", ep.key);
      tcp.opened();
      const entry: PooledH2 = { h2: null as unknown as Http2Connection, idleSince: this.clock.now() };
      const h2 = new Http2Connection(new MeteredConn(raw, tcp), { ...this.settings(), role: "client", clock: this.clock }, {
        capacity: () => {
          if (h2.activeStreams === 0) entry.idleSince = this.clock.now();
        },
        close: () => {
          tcp.closed();
          const i = pool.conns.indexOf(entry);
          if (i >= 0) pool.conns.splice(i, 1);
          if (pool.conns.length === 0 && pool.connecting === null) this.pools.delete(ep.pool);
        },
      });
      (entry as { h2: Http2Connection }).h2 = h2;
      h2.start();
      pool.conns.push(entry);
      this.scheduleSweep();
      if (this.closed || (this.liveKeys !== null && !this.liveKeys.has(ep.pool))) h2.shutdown();
      return entry;
    } finally {
      pool.connecting = null;
    }
  }

  private poolFor(key: string): EndpointH2Pool {
    let p = this.pools.get(key);
    if (!p) this.pools.set(key, (p = new EndpointH2Pool()));
    return p;
  }

  /** One timer for all pools while connections exist: a connection without streams for the idle timeout closes. */
  private scheduleSweep(): void {
    if (this.sweepCancel !== null || this.closed) return;
    const period = Math.max(100, Math.min(this.cfg.idleTimeoutMs / 2, 5000));
    this.sweepCancel = this.clock.setTimer(period, () => {
      this.sweepCancel = null;
      const now = this.clock.now();
      let left = 0;
      for (const pool of this.pools.values()) {
        for (const c of pool.conns) {
          if (c.h2.activeStreams > 0) c.idleSince = now;
          else if (now - c.idleSince >= this.cfg.idleTimeoutMs) c.h2.shutdown();
          left++;
        }
      }
      if (left > 0) this.scheduleSweep();
    });
  }
}
