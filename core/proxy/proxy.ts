// The proxy: outbound, inbound and per-service listeners over one routing table, live config updates and
// graceful shutdown. Runtime-free: everything it touches comes through the Runtime ports.

import type { MeshletConfig } from "../config/types.ts";
import type { Addr, Listener, Runtime } from "../ports.ts";
import type { AccessLogRecord, Direction, PeerTag, ProxyMetrics } from "../telemetry/types.ts";
import { acceptConnection, type ListenerBehaviour } from "./accept.ts";
import type { MatchRequest } from "../routing/match.ts";
import type { HttpContext, Resolution, Tracked } from "./context.ts";
import type { H2Settings } from "./h2-pool.ts";
import { Pools } from "./pool.ts";
import type { Backend } from "./backend.ts";
import { endpointKey, TrafficTable, type Endpoint } from "./routes.ts";
import type { TlsCredentials } from "../identity/credentials.ts";
import { compileInboundAuthz, type InboundAuthz } from "./inbound-authz.ts";
import { createDialer, MeshTls } from "./mesh-tls.ts";

export type LogFn = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface ProxyOptions {
  metrics: ProxyMetrics;
  log: LogFn;
  accessLog?: (rec: AccessLogRecord) => void;
}

export interface Proxy {
  /** Binds every listener; resolves with their addresses keyed "outbound", "inbound", "service:<name>". */
  start(): Promise<Record<string, Addr>>;
  /** Applies a new config to routing, pools and timeouts without touching open connections. */
  update(config: MeshletConfig): void;
  readonly config: MeshletConfig;
  /** Stops accepting, lets in-flight exchanges finish within graceMs, then closes what is left. */
  shutdown(graceMs?: number): Promise<void>;
  /** Connections currently open on the client side. */
  readonly openConnections: number;
  /**
   * Installs the proxy's TLS credentials (its identity): the inbound port terminates mTLS with them and meshed
   * endpoints are reached over mTLS. Called again on every rotation; open connections keep their certificates.
   */
  setCredentials(c: TlsCredentials | null): void;
}

export function createProxy(rt: Runtime, initial: MeshletConfig, opts: ProxyOptions): Proxy {
  let config = initial;
  const random = () => rt.random(); // bound once: runtimes may implement random() as a method
  let routes = new TrafficTable(config, null, { random, now: rt.clock.now(), metrics: opts.metrics });
  opts.metrics.setEndpointGauges(() => routes.gauges());
  const backendByName = (name: string) => routes.byName(name);
  let draining = false;
  const tracked = new Set<Tracked>();
  const listeners: Listener[] = [];
  let onIdle: (() => void) | null = null;
  const logLine = opts.accessLog;

  const track = (c: Tracked) => {
    tracked.add(c);
    if (draining) c.drain();
    return () => {
      tracked.delete(c);
      if (tracked.size === 0) onIdle?.();
    };
  };

  const http2 = (): H2Settings => {
    const h = config.http2;
    return {
      maxConcurrentStreams: h.maxConcurrentStreams,
      initialWindowSize: h.initialWindowSize,
      connectionWindowSize: h.connectionWindowSize,
      maxFrameSize: h.maxFrameSize,
      maxHeaderListSize: h.maxHeaderListSize,
      keepAlive: h.keepAliveIntervalMs > 0 ? { intervalMs: h.keepAliveIntervalMs, timeoutMs: h.keepAliveTimeoutMs } : null,
    };
  };
  const mesh = new MeshTls();
  const dialer = createDialer(rt.net, rt.tls, mesh);
  const pools: Record<Direction, Pools> = {
    outbound: new Pools(dialer, rt.clock, config.pool, opts.metrics, "outbound", http2),
    inbound: new Pools(dialer, rt.clock, config.pool, opts.metrics, "inbound", http2),
  };
  let inboundAuthz: InboundAuthz | null = config.inbound ? compileInboundAuthz(config.inbound.authorization) : null;
  const plainUpstream = { outbound: opts.metrics.peerTag("outbound", "no_identity", ""), inbound: opts.metrics.peerTag("inbound", "no_identity", "") };
  // A meshed endpoint's labels, looked up once per endpoint object (a config update makes new ones), not per request.
  const meshedTags = new WeakMap<Endpoint, PeerTag>();
  const endpointTag = (direction: Direction, ep: Endpoint): PeerTag => {
    if (ep.identity === undefined) return plainUpstream[direction];
    let tag = meshedTags.get(ep);
    if (tag === undefined) meshedTags.set(ep, (tag = opts.metrics.peerTag(direction, "true", ep.identity)));
    return tag;
  };
  /** The inbound app as an endpoint, made once per config. */
  const appEndpointOf = (c: MeshletConfig): Endpoint | undefined => {
    if (!c.inbound) return undefined;
    const key = endpointKey(c.inbound.app);
    return { addr: c.inbound.app, key, pool: key };
  };
  let appEndpoint = appEndpointOf(config);

  const httpContext = (direction: Direction, resolve: (req: MatchRequest) => Resolution): HttpContext => ({
    direction,
    clock: rt.clock,
    dialer,
    metrics: opts.metrics,
    pools: pools[direction],
    resolve,
    random,
    timeoutHeader: () => (config.timeoutHeader[direction] ? config.timeoutHeader.name.toLowerCase() : null),
    headerFaults: () => config.headerFaults,
    responseTimeoutMs: () => config.responseTimeoutMs,
    forwardedHeaders: () => direction === "inbound" && config.forwardedHeaders,
    connectTimeoutMs: () => config.pool.connectTimeoutMs,
    http2,
    appProtocol: () => config.inbound?.appProtocol ?? "auto",
    accessLog: () => (config.accessLog.enabled && logLine ? logLine : null),
    clientTimeouts: () => config.clientTimeouts,
    clientHalfClose: () => config.clientHalfClose,
    draining: () => draining,
    track,
    authz: () => (direction === "inbound" ? inboundAuthz : null),
    endpointTag: (ep) => endpointTag(direction, ep),
  });

  const outboundResolve = (req: MatchRequest): Resolution => {
    const hit = routes.route(null, req);
    if (hit === undefined) return { kind: "error", status: 404, code: "no-route", message: `no route for authority "${req.authority}"` };
    return { kind: "route", hit, backend: backendByName };
  };
  const inboundResolve = (): Resolution => {
    const app = appEndpoint;
    if (!app) return { kind: "error", status: 503, code: "no-app", message: "no inbound application configured" };
    return { kind: "endpoint", endpoint: app };
  };
  const serviceResolve = (name: string) => (req: MatchRequest): Resolution => {
    const hit = routes.route(name, req);
    if (hit === undefined) return { kind: "error", status: 503, code: "no-service", message: `service ${name} is gone` };
    return { kind: "route", hit, backend: backendByName };
  };
  /** An endpoint for an opaque TCP connection to a service (no retries or breaker feedback for TCP). */
  const tcpPick = (b: Backend | undefined): Endpoint | undefined => {
    if (b === undefined) return undefined;
    const e = b.pick(rt.clock.now(), undefined, false);
    return typeof e === "number" ? undefined : e;
  };

  const behaviour = (
    name: string,
    http: HttpContext,
    protocol: () => "detect" | "opaque",
    tcpTarget: () => Endpoint | undefined,
    terminatesTls = false,
  ): ListenerBehaviour => ({
    name,
    http,
    protocol,
    detect: () => config.detect,
    tcpTarget,
    tls: () => {
      const server = terminatesTls ? mesh.server() : null;
      return server === null ? null : { port: rt.tls, config: server };
    },
    log: (level, msg, fields) => opts.log(level, msg, fields),
  });

  /** One timer walks the client connections for their header and idle timeouts (no timer per request). */
  let sweepCancel: (() => void) | null = null;
  const sweepEvery = () => {
    const { headerMs, idleMs } = config.clientTimeouts;
    const shortest = Math.min(headerMs || Infinity, idleMs || Infinity);
    return shortest === Infinity ? 1000 : Math.max(50, Math.min(1000, Math.floor(shortest / 4)));
  };
  const scheduleSweep = () => {
    const every = sweepEvery();
    sweepCancel = rt.clock.setTimer(every, () => {
      for (const c of tracked) c.sweep?.(every);
      if (!draining) scheduleSweep();
    });
  };

  async function bind(host: string, port: number, b: ListenerBehaviour): Promise<Addr> {
    const l = await rt.net.listen({ host, port }, (conn) => acceptConnection(conn, b));
    listeners.push(l);
    return l.local;
  }

  return {
    get config() {
      return config;
    },
    get openConnections() {
      return tracked.size;
    },
    setCredentials(c) {
      mesh.set(c);
    },
    async start() {
      const bound: Record<string, Addr> = {};
      scheduleSweep();
      const out = config.outbound;
      bound.outbound = await bind(out.host, out.port, behaviour(
        `${out.host}:${out.port}`,
        httpContext("outbound", outboundResolve),
        () => config.outbound.protocol,
        () => {
          const name = config.outbound.opaqueService;
          return name === undefined ? undefined : tcpPick(routes.byName(name));
        },
      ));
      if (config.inbound) {
        const inb = config.inbound;
        bound.inbound = await bind(inb.host, inb.port, behaviour(
          `${inb.host}:${inb.port}`,
          httpContext("inbound", inboundResolve),
          () => config.inbound?.protocol ?? "detect",
          () => appEndpoint,
          true,
        ));
      }
      for (const svc of config.services) {
        if (!svc.listen) continue;
        const name = svc.name;
        const resolve = serviceResolve(name);
        bound[`service:${name}`] = await bind(svc.listen.host, svc.listen.port, behaviour(
          `service:${name}`,
          httpContext("outbound", resolve),
          () => routes.byName(name)?.config.listen?.protocol ?? "detect",
          () => tcpPick(routes.byName(name)),
        ));
      }
      return bound;
    },
    update(next) {
      const listenersChanged = JSON.stringify([next.admin, next.outbound.host, next.outbound.port, next.inbound?.host,
        next.inbound?.port, next.services.map((s) => s.listen)]) !== JSON.stringify([config.admin, config.outbound.host,
        config.outbound.port, config.inbound?.host, config.inbound?.port, config.services.map((s) => s.listen)]);
      if (listenersChanged) opts.log("warn", "listener addresses changed in the config; they apply on restart");
      config = next;
      inboundAuthz = next.inbound ? compileInboundAuthz(next.inbound.authorization) : null;
      appEndpoint = appEndpointOf(next);
      routes = new TrafficTable(next, routes, { random, now: rt.clock.now(), metrics: opts.metrics });
      const live = routes.endpointKeys();
      if (appEndpoint) live.add(appEndpoint.pool);
      pools.outbound.update(next.pool, live);
      pools.inbound.update(next.pool, live);
    },
    async shutdown(graceMs = config.shutdownGraceMs) {
      if (draining) return;
      draining = true;
      sweepCancel?.();
      await Promise.all(listeners.splice(0).map((l) => l.close()));
      for (const c of tracked) c.drain();
      if (tracked.size > 0) {
        await new Promise<void>((resolve) => {
          const cancel = rt.clock.setTimer(graceMs, () => {
            onIdle = null;
            resolve();
          });
          onIdle = () => {
            cancel();
            onIdle = null;
            resolve();
          };
        });
      }
      for (const c of [...tracked]) c.destroy();
      pools.outbound.close();
      pools.inbound.close();
    },
  };
}
