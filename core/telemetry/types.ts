import type { PeerTag } from "./peer-tags.ts";

// What the proxy engine reports. Implementations keep plain counters (no allocation per event);
// exporters (adapters/shared/prometheus.ts) read them when scraped.

export type Direction = "inbound" | "outbound";
export type { PeerTag };

/** Per (direction, peer, target) TCP counters; `peer` is "src" for accepted and "dst" for opened connections. */
export interface TcpMetrics {
  opened(): void;
  closed(): void;
  read(bytes: number): void;
  written(bytes: number): void;
}

export type Classification = "success" | "failure";

/** Per (direction, authority) HTTP counters. */
export interface HttpMetrics {
  request(): void;
  /** latencyMs: from the request head to the response head. */
  /** `grpcStatus` (0..16) for gRPC responses: the grpc_status_code label; -1 or absent otherwise. */
  /** `peer`: the client's TLS labels (inbound) or the answering endpoint's (outbound). */
  response(status: number, classification: Classification, latencyMs: number, grpcStatus?: number, peer?: PeerTag): void;
}

/** An inbound authorization decision, for inbound_{http,tcp}_authz_{allow,deny}_total. */
export interface AuthzEvent {
  readonly allowed: boolean;
  /** The route policy that applied, "" for the port's. */
  readonly route: string;
  readonly rule: string;
}

/** Per (route, backend service) traffic-policy counters; the engine asks once per compiled rule and caches it. */
export interface RouteMetrics {
  /** A retry was sent. */
  retry(): void;
  /** A request that was retried ended in a success. */
  retrySuccess(): void;
  /** A retryable failure was not retried: max retries reached. */
  retryLimitExceeded(): void;
  /** A retryable failure was not retried: the retry budget was spent, or the body was too large to buffer. */
  retryOverflow(): void;
  faultInjected(kind: "delay" | "abort"): void;
  rateLimited(): void;
  /** The request hit a timeout: "request", "backend-request" (per try), "idle", "header" (x-meshlet-timeout). */
  timeout(kind: "request" | "backend-request" | "idle" | "header"): void;
}

/** Per service counters. */
export interface ServiceMetrics {
  /** Refused by max-pending (503 load-shed). */
  loadShed(): void;
  /** Refused because every endpoint was ejected (503 fail-fast). */
  failFast(): void;
  /** The breaker ejected this endpoint. */
  ejected(endpoint: string): void;
}

/** Read at scrape time: the current endpoint and breaker state of every service. */
export interface EndpointGauge {
  readonly service: string;
  readonly balancer: string;
  readonly endpoint: string;
  readonly breaker: "closed" | "open" | "half-open";
}

export interface ProxyMetrics {
  tcp(direction: Direction, peer: "src" | "dst", target: string): TcpMetrics;
  http(direction: Direction, authority: string): HttpMetrics;
  route(direction: Direction, route: string, service: string): RouteMetrics;
  service(direction: Direction, service: string): ServiceMetrics;
  /** The interned TLS labels of a peer (once per connection or endpoint, not per request). */
  peerTag(direction: Direction, tls: string, id: string): PeerTag;
  /** An inbound authorization decision on an HTTP request or an opaque TCP connection. */
  authz(kind: "http" | "tcp", event: AuthzEvent, peer: PeerTag): void;
  /** The proxy registers where endpoint gauges come from (the last registration wins). */
  setEndpointGauges(source: () => Iterable<EndpointGauge>): void;
}

/** One access-log line (JSON) per request. */
export interface AccessLogRecord {
  /** ISO-8601 time the request started. */
  time: string;
  direction: Direction;
  method: string;
  authority: string;
  path: string;
  status: number;
  /** Milliseconds from request head to response end. */
  duration_ms: number;
  /** host:port of the endpoint that answered, or "" for proxy-made responses. */
  endpoint: string;
  request_bytes: number;
  response_bytes: number;
  /** x-meshlet-error of a proxy-made response, when there is one. */
  error?: string;
  /** The grpc-status of a gRPC call (from the trailers, a trailers-only head, or the proxy's own answer). */
  grpc_status?: number;
  /** "HTTP/1.0", "HTTP/1.1" or "HTTP/2": how the client spoke. */
  protocol?: string;
  /** The client's TLS ("true", "not_provided_by_remote", "no_identity"; inbound) or the endpoint's (outbound). */
  tls?: string;
  /** The client's verified SPIFFE ID (inbound). */
  client_id?: string;
  /** The endpoint's verified SPIFFE ID (outbound, meshed endpoints). */
  server_id?: string;
}

// ---- Exporter side: a read-only snapshot of every metric family, taken at scrape time. ----

export type MetricLabels = Readonly<Record<string, string>>;

export interface ScalarSample {
  readonly labels: MetricLabels;
  readonly value: number;
}

export interface HistogramSample {
  readonly labels: MetricLabels;
  /** Cumulative counts, one per entry of the family's `bounds` (observations <= bound); `count` is the +Inf bucket. */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sum: number;
}

export interface ScalarFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  readonly samples: readonly ScalarSample[];
}

export interface HistogramFamily {
  readonly name: string;
  readonly help: string;
  readonly type: "histogram";
  /** Upper bounds (inclusive), ascending, without +Inf. */
  readonly bounds: readonly number[];
  readonly samples: readonly HistogramSample[];
}

export type MetricFamily = ScalarFamily | HistogramFamily;

/** What an exporter reads; MetricsStore implements it. */
export interface MetricsSource {
  snapshot(): MetricFamily[];
}
