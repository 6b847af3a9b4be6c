// MetricsStore: plain numeric counters behind the ProxyMetrics contract.
//
// Hot path: the engine asks tcp()/http() once per connection/route, and route()/service() once per compiled
// rule/service, and caches the returned object; every event after that is a field increment (plus, for a
// response, one small Map lookup by status code and a short bucket scan; for an ejection, one small Map
// lookup by endpoint). Nothing is allocated per event once a (label set, status/endpoint) has been seen.
// Exporters call snapshot() at scrape time, which walks the tables, reads the endpoint-gauge source and
// builds label objects.

import { idLabel, PeerTags, type PeerTag } from "./peer-tags.ts";
import type {
  AuthzEvent,
  Classification,
  Direction,
  EndpointGauge,
  HistogramSample,
  HttpMetrics,
  MetricFamily,
  MetricsSource,
  ProxyMetrics,
  RouteMetrics,
  ScalarSample,
  ServiceMetrics,
  TcpMetrics,
} from "./types.ts";

/**
 * Linkerd's `response_latency_ms` bucket bounds (ms, inclusive), as in linkerd2-proxy
 * `linkerd/metrics/src/latency.rs` (the long-standing set; recent linkerd2-proxy trimmed it to
 * LINKERD_COMPACT_LATENCY_BOUNDS_MS below). A final +Inf bucket is implied.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1_000, 2_000, 3_000, 4_000, 5_000, 10_000,
  20_000, 30_000, 40_000, 50_000,
]);

/** The trimmed set used by recent linkerd2-proxy releases; pass it as `latencyBoundsMs` to match them. */
export const LINKERD_COMPACT_LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 10, 50, 100, 200, 300, 400, 500, 1_000, 5_000, 10_000,
]);

/**
 * Label value that replaces an authority/target (or a route's route and service labels, a service, an
 * ejected endpoint) once its table has reached its cardinality cap.
 */
export const OVERFLOW_LABEL = "overflow";

export const DEFAULT_MAX_LABEL_VALUES = 1000;

/**
 * Metric names (Linkerd's where Linkerd has one).
 *
 * Traffic-policy families carry the direction as a `direction` label, like request_total, instead of a name
 * prefix; Linkerd's equivalents (linkerd2-proxy, outbound side only) are:
 *   http_route_retry_requests_total        <- outbound_http_route_retry_requests_total
 *   http_route_retry_successes_total       <- outbound_http_route_retry_successes_total
 *   http_route_retry_limit_exceeded_total  <- outbound_http_route_retry_limit_exceeded_total
 *   http_route_retry_overflow_total        <- outbound_http_route_retry_overflow_total
 *   http_balancer_endpoints                <- outbound_http_balancer_endpoints (Linkerd's endpoint_state is
 *                                             ready|pending; ours is ready|ejected)
 * Linkerd labels these by parent_* / route_* / backend_* resource coordinates; here a route is labelled by
 * its route name and backend `service`. The other families (faults, rate limits, timeouts, load shedding,
 * fail-fast, ejections, breaker state) have no Linkerd counterpart under a stable name.
 */
export const METRIC = {
  requestTotal: "request_total",
  responseTotal: "response_total",
  responseLatencyMs: "response_latency_ms",
  tcpOpenTotal: "tcp_open_total",
  tcpCloseTotal: "tcp_close_total",
  tcpOpenConnections: "tcp_open_connections",
  tcpReadBytesTotal: "tcp_read_bytes_total",
  tcpWriteBytesTotal: "tcp_write_bytes_total",
  routeRetryRequestsTotal: "http_route_retry_requests_total",
  routeRetrySuccessesTotal: "http_route_retry_successes_total",
  routeRetryLimitExceededTotal: "http_route_retry_limit_exceeded_total",
  routeRetryOverflowTotal: "http_route_retry_overflow_total",
  routeFaultInjectionsTotal: "http_route_fault_injections_total",
  routeRateLimitedTotal: "http_route_rate_limited_total",
  routeTimeoutsTotal: "http_route_timeouts_total",
  serviceLoadShedTotal: "http_service_load_shed_total",
  serviceFailFastTotal: "http_service_fail_fast_total",
  endpointEjectionsTotal: "http_endpoint_ejections_total",
  balancerEndpoints: "http_balancer_endpoints",
  endpointBreakerState: "http_endpoint_breaker_state",
  inboundHttpAuthzAllowTotal: "inbound_http_authz_allow_total",
  inboundHttpAuthzDenyTotal: "inbound_http_authz_deny_total",
  inboundTcpAuthzAllowTotal: "inbound_tcp_authz_allow_total",
  inboundTcpAuthzDenyTotal: "inbound_tcp_authz_deny_total",
  identityCertExpiration: "identity_cert_expiration_timestamp_seconds",
} as const;

/** Linkerd's default response classification: a response is a failure when its status is 5xx. */
export function classifyStatus(status: number): Classification {
  return status >= 500 ? "failure" : "success";
}

export class TcpCounters implements TcpMetrics {
  openTotal = 0;
  closeTotal = 0;
  readBytes = 0;
  writeBytes = 0;
  constructor(
    readonly direction: Direction,
    readonly peer: "src" | "dst",
    readonly target: string,
  ) {}
  opened(): void {
    this.openTotal++;
  }
  closed(): void {
    this.closeTotal++;
  }
  read(bytes: number): void {
    this.readBytes += bytes;
  }
  written(bytes: number): void {
    this.writeBytes += bytes;
  }
}

/** Responses of one status code (and gRPC status, -1 for none) under one (direction, authority). */
export class StatusCounters {
  code = 0;
  grpc = -1;
  peer: PeerTag | undefined;
  success = 0;
  failure = 0;
  latencySum = 0;
  /** Non-cumulative bucket counts: one per bound, plus a last one for +Inf. */
  readonly buckets: number[];
  constructor(bucketCount: number) {
    this.buckets = new Array<number>(bucketCount).fill(0);
  }
}

export class HttpCounters implements HttpMetrics {
  requests = 0;
  /** Keyed by peer slot x 32768 + status code (100..999; anything else is recorded as 0) x 32 + gRPC status + 1. */
  readonly byStatus = new Map<number, StatusCounters>();
  // Most responses repeat the previous status: skip the Map lookup then.
  private lastCode = -1;
  private lastStatus: StatusCounters | undefined;
  constructor(
    readonly direction: Direction,
    readonly authority: string,
    private readonly bounds: readonly number[],
  ) {}
  request(): void {
    this.requests++;
  }
  response(status: number, classification: Classification, latencyMs: number, grpcStatus = -1, peer?: PeerTag): void {
    const grpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus | 0 : -1;
    const code = status >= 100 && status <= 999 ? status | 0 : 0;
    const key = (peer === undefined ? 0 : peer.slot * 32768) + code * 32 + grpc + 1;
    let s = key === this.lastCode ? this.lastStatus : this.byStatus.get(key);
    if (s === undefined) {
      s = new StatusCounters(this.bounds.length + 1);
      s.code = code;
      s.grpc = grpc;
      s.peer = peer;
      this.byStatus.set(key, s);
    }
    this.lastCode = key;
    this.lastStatus = s;
    if (classification === "failure") s.failure++;
    else s.success++;
    const v = latencyMs >= 0 ? latencyMs : 0; // also maps NaN to 0
    // Binary search for the first bound >= v (bounds.length means +Inf).
    const bounds = this.bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v > bounds[mid]!) lo = mid + 1;
      else hi = mid;
    }
    s.buckets[lo]!++;
    s.latencySum += v;
  }
}

/** A label-value -> counters table with a cap; values past the cap share one overflow entry. */
class BoundedTable<T> {
  readonly map = new Map<string, T>();
  overflow: T | undefined;
  constructor(
    private readonly max: number,
    private readonly create: (label: string) => T,
  ) {}
  get(label: string): T {
    const hit = this.map.get(label);
    if (hit !== undefined) return hit;
    if (this.map.size < this.max) {
      const made = this.create(label);
      this.map.set(label, made);
      return made;
    }
    return (this.overflow ??= this.create(OVERFLOW_LABEL));
  }
  *entries(): IterableIterator<T> {
    yield* this.map.values();
    if (this.overflow !== undefined) yield this.overflow;
  }
}

/** Traffic-policy counters of one (direction, route, backend service). */
export class RouteCounters implements RouteMetrics {
  retries = 0;
  retrySuccesses = 0;
  retryLimitExceeds = 0;
  retryOverflows = 0;
  faultDelays = 0;
  faultAborts = 0;
  rateLimits = 0;
  requestTimeouts = 0;
  backendRequestTimeouts = 0;
  idleTimeouts = 0;
  headerTimeouts = 0;
  constructor(
    readonly direction: Direction,
    readonly route: string,
    readonly service: string,
  ) {}
  retry(): void {
    this.retries++;
  }
  retrySuccess(): void {
    this.retrySuccesses++;
  }
  retryLimitExceeded(): void {
    this.retryLimitExceeds++;
  }
  retryOverflow(): void {
    this.retryOverflows++;
  }
  faultInjected(kind: "delay" | "abort"): void {
    if (kind === "delay") this.faultDelays++;
    else this.faultAborts++;
  }
  rateLimited(): void {
    this.rateLimits++;
  }
  timeout(kind: "request" | "backend-request" | "idle" | "header"): void {
    switch (kind) {
      case "request":
        this.requestTimeouts++;
        break;
      case "backend-request":
        this.backendRequestTimeouts++;
        break;
      case "idle":
        this.idleTimeouts++;
        break;
      default:
        this.headerTimeouts++;
    }
  }
}

/** Counters of one (direction, service). */
export class ServiceCounters implements ServiceMetrics {
  loadSheds = 0;
  failFasts = 0;
  /** Ejections by endpoint; at most `maxEndpoints` keys, the rest count under OVERFLOW_LABEL. */
  readonly ejections = new Map<string, number>();
  constructor(
    readonly direction: Direction,
    readonly service: string,
    private readonly maxEndpoints: number,
  ) {}
  loadShed(): void {
    this.loadSheds++;
  }
  failFast(): void {
    this.failFasts++;
  }
  ejected(endpoint: string): void {
    const m = this.ejections;
    const n = m.get(endpoint);
    if (n !== undefined) m.set(endpoint, n + 1);
    else if (m.size < this.maxEndpoints) m.set(endpoint, 1);
    else m.set(OVERFLOW_LABEL, (m.get(OVERFLOW_LABEL) ?? 0) + 1);
  }
}

/** BoundedTable for a pair of labels: at most `max` distinct pairs, the rest share one overflow entry. */
class BoundedPairTable<T> {
  private readonly map = new Map<string, Map<string, T>>();
  private size = 0;
  private overflow: T | undefined;
  constructor(
    private readonly max: number,
    private readonly create: (a: string, b: string) => T,
  ) {}
  get(a: string, b: string): T {
    let inner = this.map.get(a);
    const hit = inner?.get(b);
    if (hit !== undefined) return hit;
    if (this.size < this.max) {
      const made = this.create(a, b);
      if (inner === undefined) this.map.set(a, (inner = new Map()));
      inner.set(b, made);
      this.size++;
      return made;
    }
    return (this.overflow ??= this.create(OVERFLOW_LABEL, OVERFLOW_LABEL));
  }
  *entries(): IterableIterator<T> {
    for (const inner of this.map.values()) yield* inner.values();
    if (this.overflow !== undefined) yield this.overflow;
  }
}

export interface MetricsStoreOptions {
  /**
   * Distinct authorities per direction (HTTP), targets per direction and peer (TCP), (route, service) pairs
   * per direction, services per direction, and ejected endpoints per service; default 1000.
   */
  maxLabelValues?: number;
  /** Latency histogram bounds in ms, ascending; default LATENCY_BOUNDS_MS. */
  latencyBoundsMs?: readonly number[];
}

const DIRECTIONS: readonly Direction[] = ["inbound", "outbound"];

export class MetricsStore implements ProxyMetrics, MetricsSource {
  readonly latencyBoundsMs: readonly number[];
  private readonly httpTables: Record<Direction, BoundedTable<HttpCounters>>;
  private readonly tcpTables: Record<Direction, Record<"src" | "dst", BoundedTable<TcpCounters>>>;
  private readonly routeTables: Record<Direction, BoundedPairTable<RouteCounters>>;
  private readonly serviceTables: Record<Direction, BoundedTable<ServiceCounters>>;
  private endpointGauges: (() => Iterable<EndpointGauge>) | undefined;
  private readonly peerTags: PeerTags;
  private readonly authzCounts = new Map<string, { kind: "http" | "tcp"; event: AuthzEvent; peer: PeerTag; n: number }>();
  private certExpirySeconds: number | undefined;

  constructor(opts: MetricsStoreOptions = {}) {
    const max = opts.maxLabelValues ?? DEFAULT_MAX_LABEL_VALUES;
    const bounds = Object.freeze([...(opts.latencyBoundsMs ?? LATENCY_BOUNDS_MS)]);
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError("latencyBoundsMs must be strictly ascending");
    }
    this.latencyBoundsMs = bounds;
    // The hot path reads a private plain copy: element reads on frozen arrays are slow on JavaScriptCore.
    const scan = [...bounds];
    const http = (d: Direction) => new BoundedTable(max, (a) => new HttpCounters(d, a, scan));
    const tcp = (d: Direction, p: "src" | "dst") => new BoundedTable(max, (t) => new TcpCounters(d, p, t));
    this.httpTables = { inbound: http("inbound"), outbound: http("outbound") };
    this.tcpTables = {
      inbound: { src: tcp("inbound", "src"), dst: tcp("inbound", "dst") },
      outbound: { src: tcp("outbound", "src"), dst: tcp("outbound", "dst") },
    };
    const route = (d: Direction) => new BoundedPairTable(max, (r, svc) => new RouteCounters(d, r, svc));
    const service = (d: Direction) => new BoundedTable(max, (svc) => new ServiceCounters(d, svc, max));
    this.routeTables = { inbound: route("inbound"), outbound: route("outbound") };
    this.serviceTables = { inbound: service("inbound"), outbound: service("outbound") };
    this.peerTags = new PeerTags(max);
  }

  peerTag(direction: Direction, tls: string, id: string): PeerTag {
    return this.peerTags.get(direction, tls, id);
  }

  authz(kind: "http" | "tcp", event: AuthzEvent, peer: PeerTag): void {
    // Route and rule names come from the config and peer tags are bounded, so the key space is bounded too.
    const key = `${kind} ${event.allowed} ${event.route} ${event.rule} ${peer.slot}`;
    const c = this.authzCounts.get(key);
    if (c !== undefined) c.n++;
    else this.authzCounts.set(key, { kind, event, peer, n: 1 });
  }

  /** The proxy certificate's notAfter, in seconds since the epoch (undefined: no identity). */
  setCertExpiration(seconds: number | undefined): void {
    this.certExpirySeconds = seconds;
  }

  tcp(direction: Direction, peer: "src" | "dst", target: string): TcpCounters {
    return this.tcpTables[direction][peer].get(target);
  }

  http(direction: Direction, authority: string): HttpCounters {
    return this.httpTables[direction].get(authority);
  }

  route(direction: Direction, route: string, service: string): RouteCounters {
    return this.routeTables[direction].get(route, service);
  }

  service(direction: Direction, service: string): ServiceCounters {
    return this.serviceTables[direction].get(service);
  }

  setEndpointGauges(source: () => Iterable<EndpointGauge>): void {
    this.endpointGauges = source;
  }

  snapshot(): MetricFamily[] {
    const requests: ScalarSample[] = [];
    const responses: ScalarSample[] = [];
    const latency: HistogramSample[] = [];
    for (const d of DIRECTIONS) {
      for (const h of this.httpTables[d].entries()) {
        requests.push({ labels: { direction: d, authority: h.authority }, value: h.requests });
        for (const s of h.byStatus.values()) {
          const status_code = String(s.code);
          const base: Record<string, string> = { direction: d, authority: h.authority, status_code };
          if (s.grpc >= 0) base.grpc_status_code = String(s.grpc);
          if (s.peer !== undefined) addPeerLabels(base, s.peer);
          if (s.success > 0) responses.push({ labels: { ...base, classification: "success" }, value: s.success });
          if (s.failure > 0) responses.push({ labels: { ...base, classification: "failure" }, value: s.failure });
          const cumulative = new Array<number>(this.latencyBoundsMs.length);
          let acc = 0;
          for (let i = 0; i < cumulative.length; i++) cumulative[i] = acc += s.buckets[i]!;
          latency.push({
            labels: base,
            cumulative,
            count: s.success + s.failure,
            sum: s.latencySum,
          });
        }
      }
    }

    const open: ScalarSample[] = [];
    const close: ScalarSample[] = [];
    const conns: ScalarSample[] = [];
    const read: ScalarSample[] = [];
    const write: ScalarSample[] = [];
    for (const d of DIRECTIONS) {
      for (const peer of ["src", "dst"] as const) {
        for (const t of this.tcpTables[d][peer].entries()) {
          const labels = { direction: d, peer, target_addr: t.target };
          open.push({ labels, value: t.openTotal });
          close.push({ labels, value: t.closeTotal });
          conns.push({ labels, value: t.openTotal - t.closeTotal });
          read.push({ labels, value: t.readBytes });
          write.push({ labels, value: t.writeBytes });
        }
      }
    }

    // Traffic-policy counters: only non-zero samples are emitted (a series appears with its first event), so
    // that the rules and services without a given policy add no all-zero series.
    const retries: ScalarSample[] = [];
    const retrySuccesses: ScalarSample[] = [];
    const retryLimits: ScalarSample[] = [];
    const retryOverflows: ScalarSample[] = [];
    const faults: ScalarSample[] = [];
    const rateLimited: ScalarSample[] = [];
    const timeouts: ScalarSample[] = [];
    const nonZero = (out: ScalarSample[], labels: Record<string, string>, value: number) => {
      if (value > 0) out.push({ labels, value });
    };
    for (const d of DIRECTIONS) {
      for (const r of this.routeTables[d].entries()) {
        const l = { direction: d, route: r.route, service: r.service };
        nonZero(retries, l, r.retries);
        nonZero(retrySuccesses, l, r.retrySuccesses);
        nonZero(retryLimits, l, r.retryLimitExceeds);
        nonZero(retryOverflows, l, r.retryOverflows);
        nonZero(faults, { ...l, kind: "delay" }, r.faultDelays);
        nonZero(faults, { ...l, kind: "abort" }, r.faultAborts);
        nonZero(rateLimited, l, r.rateLimits);
        nonZero(timeouts, { ...l, kind: "request" }, r.requestTimeouts);
        nonZero(timeouts, { ...l, kind: "backend-request" }, r.backendRequestTimeouts);
        nonZero(timeouts, { ...l, kind: "idle" }, r.idleTimeouts);
        nonZero(timeouts, { ...l, kind: "header" }, r.headerTimeouts);
      }
    }
    const loadShed: ScalarSample[] = [];
    const failFast: ScalarSample[] = [];
    const ejections: ScalarSample[] = [];
    for (const d of DIRECTIONS) {
      for (const svc of this.serviceTables[d].entries()) {
        const l = { direction: d, service: svc.service };
        nonZero(loadShed, l, svc.loadSheds);
        nonZero(failFast, l, svc.failFasts);
        for (const [endpoint, n] of svc.ejections) nonZero(ejections, { ...l, endpoint }, n);
      }
    }

    // Endpoint gauges, read from the registered source now.
    const balancerEndpoints: ScalarSample[] = [];
    const breakerState: ScalarSample[] = [];
    if (this.endpointGauges !== undefined) {
      // (service, balancer) -> [ready, ejected], in first-seen order.
      const counts = new Map<string, Map<string, [number, number]>>();
      // (service, endpoint, state) seen, so a repeated endpoint yields one series.
      const states = new Set<string>();
      for (const g of this.endpointGauges()) {
        let byBalancer = counts.get(g.service);
        if (byBalancer === undefined) counts.set(g.service, (byBalancer = new Map()));
        let c = byBalancer.get(g.balancer);
        if (c === undefined) byBalancer.set(g.balancer, (c = [0, 0]));
        if (g.breaker === "open") c[1]++;
        else c[0]++;
        const key = JSON.stringify([g.service, g.endpoint, g.breaker]);
        if (!states.has(key)) {
          states.add(key);
          breakerState.push({ labels: { service: g.service, endpoint: g.endpoint, state: g.breaker }, value: 1 });
        }
      }
      for (const [service, byBalancer] of counts) {
        for (const [balancer, [ready, ejected]] of byBalancer) {
          balancerEndpoints.push({ labels: { service, balancer, endpoint_state: "ready" }, value: ready });
          balancerEndpoints.push({ labels: { service, balancer, endpoint_state: "ejected" }, value: ejected });
        }
      }
    }

    const authz: Record<string, ScalarSample[]> = {
      [METRIC.inboundHttpAuthzAllowTotal]: [], [METRIC.inboundHttpAuthzDenyTotal]: [],
      [METRIC.inboundTcpAuthzAllowTotal]: [], [METRIC.inboundTcpAuthzDenyTotal]: [],
    };
    for (const c of this.authzCounts.values()) {
      const name = c.kind === "http"
        ? c.event.allowed ? METRIC.inboundHttpAuthzAllowTotal : METRIC.inboundHttpAuthzDenyTotal
        : c.event.allowed ? METRIC.inboundTcpAuthzAllowTotal : METRIC.inboundTcpAuthzDenyTotal;
      const labels: Record<string, string> = { authz_rule: c.event.rule };
      if (c.event.route !== "") labels.route = c.event.route;
      authz[name]!.push({ labels: addPeerLabels(labels, c.peer), value: c.n });
    }
    const certExpiry: ScalarSample[] = this.certExpirySeconds === undefined ? [] : [{ labels: {}, value: this.certExpirySeconds }];

    return [
      { name: METRIC.requestTotal, help: "Total count of HTTP requests.", type: "counter", samples: requests },
      { name: METRIC.responseTotal, help: "Total count of HTTP responses.", type: "counter", samples: responses },
      {
        name: METRIC.responseLatencyMs,
        help: "Elapsed times between a request's headers being received and its response's headers being sent, in milliseconds.",
        type: "histogram",
        bounds: this.latencyBoundsMs,
        samples: latency,
      },
      { name: METRIC.tcpOpenTotal, help: "Total count of opened connections.", type: "counter", samples: open },
      { name: METRIC.tcpCloseTotal, help: "Total count of closed connections.", type: "counter", samples: close },
      { name: METRIC.tcpOpenConnections, help: "Number of currently-open connections.", type: "gauge", samples: conns },
      { name: METRIC.tcpReadBytesTotal, help: "Total count of bytes read from peers.", type: "counter", samples: read },
      { name: METRIC.tcpWriteBytesTotal, help: "Total count of bytes written to peers.", type: "counter", samples: write },
      {
        name: METRIC.routeRetryRequestsTotal,
        help: "Total count of retry requests sent, per route and backend service.",
        type: "counter",
        samples: retries,
      },
      {
        name: METRIC.routeRetrySuccessesTotal,
        help: "Total count of retried requests that ended in a success.",
        type: "counter",
        samples: retrySuccesses,
      },
      {
        name: METRIC.routeRetryLimitExceededTotal,
        help: "Total count of retryable failures not retried because the maximum number of retries was reached.",
        type: "counter",
        samples: retryLimits,
      },
      {
        name: METRIC.routeRetryOverflowTotal,
        help: "Total count of retryable failures not retried because the retry budget was spent or the request body was too large to buffer.",
        type: "counter",
        samples: retryOverflows,
      },
      {
        name: METRIC.routeFaultInjectionsTotal,
        help: "Total count of injected faults, by kind (delay, abort).",
        type: "counter",
        samples: faults,
      },
      {
        name: METRIC.routeRateLimitedTotal,
        help: "Total count of requests refused by a route's rate limit.",
        type: "counter",
        samples: rateLimited,
      },
      {
        name: METRIC.routeTimeoutsTotal,
        help: "Total count of requests that hit a timeout, by kind (request, backend-request, idle, header).",
        type: "counter",
        samples: timeouts,
      },
      {
        name: METRIC.serviceLoadShedTotal,
        help: "Total count of requests shed because the service had too many requests pending.",
        type: "counter",
        samples: loadShed,
      },
      {
        name: METRIC.serviceFailFastTotal,
        help: "Total count of requests refused because every endpoint of the service was ejected.",
        type: "counter",
        samples: failFast,
      },
      {
        name: METRIC.endpointEjectionsTotal,
        help: "Total count of endpoint ejections by the circuit breaker.",
        type: "counter",
        samples: ejections,
      },
      {
        name: METRIC.balancerEndpoints,
        help: "Number of endpoints in a service's balancer, by state: ready (breaker closed or half-open) or ejected (breaker open).",
        type: "gauge",
        samples: balancerEndpoints,
      },
      {
        name: METRIC.endpointBreakerState,
        help: "Circuit breaker state of an endpoint: 1 for its current state (closed, open, half-open).",
        type: "gauge",
        samples: breakerState,
      },
      ...([
        [METRIC.inboundHttpAuthzAllowTotal, "Total count of HTTP requests the inbound authorization policy allowed."],
        [METRIC.inboundHttpAuthzDenyTotal, "Total count of HTTP requests the inbound authorization policy denied (403, or PERMISSION_DENIED for gRPC)."],
        [METRIC.inboundTcpAuthzAllowTotal, "Total count of opaque TCP connections the inbound authorization policy allowed."],
        [METRIC.inboundTcpAuthzDenyTotal, "Total count of opaque TCP connections the inbound authorization policy denied (closed)."],
      ] as const).map(([name, help]): MetricFamily => ({ name, help, type: "counter", samples: authz[name]! })),
      {
        name: METRIC.identityCertExpiration,
        help: "Time when the proxy's current certificate expires, in seconds since the epoch.",
        type: "gauge",
        samples: certExpiry,
      },
    ];
  }
}

/** Adds the `tls` label and, when the peer has one, its identity (client_id inbound, server_id outbound). */
function addPeerLabels(labels: Record<string, string>, peer: PeerTag): Record<string, string> {
  labels.tls = peer.tls;
  if (peer.id !== "") labels[idLabel(peer.direction)] = peer.id;
  return labels;
}
