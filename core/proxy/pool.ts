// Keep-alive pools of upstream HTTP/1.1 connections, one per endpoint.

import { MeshletError } from "../errors.ts";
import type { PoolConfig } from "../config/types.ts";
import type { Clock } from "../ports.ts";
import type { ProxyMetrics, Direction } from "../telemetry/types.ts";
import { H2Pools, type H2Settings } from "./h2-pool.ts";
import type { Dialer } from "./mesh-tls.ts";
import type { Endpoint } from "./routes.ts";
import { UpstreamConn, type UpstreamOwner } from "./upstream.ts";

class EndpointPool {
  /** Idle connections, most recently used last (LIFO keeps few connections warm). */
  readonly idle: UpstreamConn[] = [];
  readonly all = new Set<UpstreamConn>();
}

/** Upstream connections of one direction: HTTP/1 keep-alive pools, and multiplexed HTTP/2 connections (`h2`). */
export class Pools implements UpstreamOwner {
  readonly h2: H2Pools;
  private readonly pools = new Map<string, EndpointPool>();
  private sweepCancel: (() => void) | null = null;
  /** Endpoints of the current config (null until the first update): connections to others are not kept. */
  private liveKeys: Set<string> | null = null;
  private closed = false;

  constructor(
    private readonly dialer: Dialer,
    private readonly clock: Clock,
    private cfg: PoolConfig,
    private readonly metrics: ProxyMetrics,
    private readonly direction: Direction,
    http2: () => H2Settings,
  ) {
    this.h2 = new H2Pools(dialer, clock, cfg, metrics, direction, http2);
  }

  /** An idle connection to the endpoint, if one is alive (no Promise on this hot path). */
  takeIdle(ep: Endpoint, now = this.clock.now()): UpstreamConn | undefined {
    const pool = this.pools.get(ep.pool);
    if (!pool) return undefined;
    while (pool.idle.length > 0) {
      const u = pool.idle.pop()!;
      if (!u.isClosed && now - u.idleSince < this.cfg.idleTimeoutMs) return u;
      u.destroy();
    }
    return undefined;
  }

  /** A new connection to the endpoint; rejects with CONNECT_* codes. */
  async connect(ep: Endpoint): Promise<UpstreamConn> {
    if (this.closed) throw new MeshletError("SHUTTING_DOWN", "proxy is shutting down");
    const conn = await this.dialer.dial(ep, "http/1.1", this.cfg.connectTimeoutMs);
    const u = new UpstreamConn(conn, ep, this, this.metrics.tcp(this.direction, "dst", ep.key));
    this.poolFor(ep.pool).all.add(u);
    return u;
  }

  returnIdle(u: UpstreamConn, now = this.clock.now()): void {
    const pool = this.pools.get(u.endpoint.pool);
    const gone = this.liveKeys !== null && !this.liveKeys.has(u.endpoint.pool);
    if (this.closed || !pool || gone || u.isClosed || pool.idle.length >= this.cfg.maxIdlePerEndpoint) {
      u.conn.close();
      return;
    }
    u.idleSince = now;
    pool.idle.push(u);
    this.scheduleSweep();
  }

  forget(u: UpstreamConn): void {
    const pool = this.pools.get(u.endpoint.pool);
    if (!pool) return;
    pool.all.delete(u);
    const i = pool.idle.indexOf(u);
    if (i >= 0) pool.idle.splice(i, 1);
    if (pool.all.size === 0) this.pools.delete(u.endpoint.pool);
  }

  /** Applies new limits and closes idle connections to endpoints no longer configured (keys are Endpoint.pool). */
  update(cfg: PoolConfig, liveEndpointKeys: Set<string>): void {
    this.cfg = cfg;
    this.liveKeys = liveEndpointKeys;
    this.h2.update(cfg, liveEndpointKeys);
    for (const [key, pool] of this.pools) {
      if (liveEndpointKeys.has(key)) continue;
      for (const u of pool.idle.splice(0)) u.conn.close();
    }
  }

  /** Closes idle connections and refuses new ones; busy connections finish their exchange first. */
  close(): void {
    this.closed = true;
    this.sweepCancel?.();
    this.h2.close();
    for (const pool of this.pools.values()) for (const u of pool.idle.splice(0)) u.conn.close();
  }

  /** Idle connections to the endpoint with this pool key (Endpoint.pool). */
  idleCount(key: string): number {
    return this.pools.get(key)?.idle.length ?? 0;
  }

  private poolFor(key: string): EndpointPool {
    let p = this.pools.get(key);
    if (!p) this.pools.set(key, (p = new EndpointPool()));
    return p;
  }

  /** One timer for all pools, armed only while idle connections exist. */
  private scheduleSweep(): void {
    if (this.sweepCancel !== null) return;
    const period = Math.max(100, Math.min(this.cfg.idleTimeoutMs / 2, 5000));
    this.sweepCancel = this.clock.setTimer(period, () => {
      this.sweepCancel = null;
      const now = this.clock.now();
      let left = 0;
      for (const pool of this.pools.values()) {
        const keep: UpstreamConn[] = [];
        for (const u of pool.idle) {
          if (now - u.idleSince >= this.cfg.idleTimeoutMs) u.conn.close();
          else keep.push(u);
        }
        pool.idle.length = 0;
        pool.idle.push(...keep);
        left += keep.length;
      }
      if (left > 0) this.scheduleSweep();
    });
  }
}
