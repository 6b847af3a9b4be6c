// The validated, normalized configuration the proxy runs on (what parseConfig returns).
// Durations are milliseconds; addresses are split into host and port.

import type { Addr } from "../ports.ts";
import type { RetryCondition } from "../resilience/retry-policy.ts";
import type { HttpRoute, HttpRouteRule } from "../routing/types.ts";
import type { IdentityConfig, PortAuthzPolicy } from "./identity-schema.ts";

export type { IdentityConfig, PortAuthzPolicy };

/** How a listener treats an accepted connection: detect the protocol, or proxy bytes as they are. */
export type ListenerProtocol = "detect" | "opaque";

/** An endpoint address with an optional relative weight (integer 1..10000; absent = 1). */
export interface EndpointConfig extends Addr {
  weight?: number;
  /** A meshed endpoint's SPIFFE ID: the proxy speaks mTLS to it and requires exactly this identity. */
  identity?: string;
}

/** What a "hash" balancer hashes: one header, one cookie, or the client's address. */
export type HashOn = { header: string } | { cookie: string } | { clientAddress: true };

export type BalancerConfig =
  | { kind: "peak-ewma"; defaultRttMs: number; decayMs: number }
  | { kind: "round-robin" }
  | { kind: "weighted-round-robin" }
  | { kind: "least-request" }
  | { kind: "hash"; hashOn: HashOn };

/** Consecutive-failures circuit breaker per endpoint. */
export interface FailureAccrualConfig {
  consecutiveFailures: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Extra random probation as a fraction of the backoff, 0..100. */
  jitter: number;
}

export interface RetryBudgetConfig {
  retryRatio: number;
  minRetriesPerSec: number;
  ttlMs: number;
}

/** The protocol spoken to a service's endpoints (or the inbound app): "auto" is the client's own. */
export type UpstreamProtocol = "auto" | "http1" | "h2c";

export interface Http2Config {
  maxConcurrentStreams: number;
  initialWindowSize: number;
  connectionWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
  /** 0: no keepalive PINGs. */
  keepAliveIntervalMs: number;
  keepAliveTimeoutMs: number;
}

export interface ServiceConfig {
  name: string;
  protocol: UpstreamProtocol;
  /** Authorities (Host header values, without port or with it) that route to this service; lower-case. */
  hostnames: string[];
  endpoints: EndpointConfig[];
  /** Default: peak-ewma with Linkerd's constants (30 ms, 10 s). */
  balancer: BalancerConfig;
  /** null: never eject endpoints. */
  failureAccrual: FailureAccrualConfig | null;
  retryBudget: RetryBudgetConfig;
  /** Requests in flight to this service at most; more are shed with 503 load-shed. */
  maxPending: number;
  /**
   * A dedicated outbound listener for this service (sidecars without iptables use one per service):
   * every connection accepted there goes to this service, HTTP or opaque.
   */
  listen?: { host: string; port: number; protocol: ListenerProtocol };
}

export interface PoolConfig {
  /** Idle keep-alive connections kept per endpoint. */
  maxIdlePerEndpoint: number;
  /** An idle pooled connection is closed after this long. */
  idleTimeoutMs: number;
  /** Connecting to an endpoint fails after this long (504 connect-timeout). */
  connectTimeoutMs: number;
}

export interface RetryConfig {
  /** Retries after the first try. */
  attempts: number;
  conditions: RetryCondition[];
  /** Further statuses retried (e.g. 429). */
  codes: number[];
  /** Upper-case methods that may be retried (default: the idempotent ones). gRPC requests ignore it. */
  methods: string[];
  /** gRPC status codes retried when a gRPC response carries no message (trailers-only); default UNAVAILABLE. */
  grpcCodes: number[];
  backoff: { baseMs: number; maxMs: number };
  /** Request bodies up to this size are buffered so they can be replayed; larger ones are never retried. */
  bufferLimitBytes: number;
}

export interface RouteTimeoutsConfig {
  /** The whole exchange, retries included, until the response ends; 0 = none. */
  requestMs: number;
  /** One try, until its response ends; 0 = none. */
  backendRequestMs: number;
  /** No bytes either way for this long ends the exchange; 0 = none. */
  idleMs: number;
}

export interface FaultConfig {
  delay?: { durationMs: number; percentage: number };
  abort?: { httpStatus: number; percentage: number };
}

export interface RateLimitConfig {
  requestsPerSecond: number;
  burst: number;
  /** "none": one bucket for the rule; otherwise one bucket per client key. */
  perClient: "none" | "address" | "identity";
  /** Client buckets kept at most (least recently used forgotten first). */
  maxClients: number;
}

export interface RouteRuleConfig extends HttpRouteRule {
  /** Empty: the route's parent service (a route must then have exactly one parent). */
  readonly backendRefs: readonly { name: string; weight: number }[];
  readonly timeouts: RouteTimeoutsConfig;
  /** null: no retries. */
  readonly retry: RetryConfig | null;
  readonly fault: FaultConfig | null;
  readonly rateLimit: RateLimitConfig | null;
}

export interface RouteConfig extends HttpRoute {
  /** Services this route attaches to (GAMMA parentRefs): it applies to their hostnames and listeners. */
  readonly parentRefs: readonly string[];
  readonly rules: readonly RouteRuleConfig[];
  /** The route's index in the file (older = lower), the Gateway API tie-break. */
  readonly createdAt: number;
}

export interface MeshletConfig {
  admin: { host: string; port: number };
  outbound: {
    host: string;
    port: number;
    protocol: ListenerProtocol;
    /** Where non-HTTP connections accepted on the outbound port go; without it they are closed. */
    opaqueService?: string;
  };
  /** Absent when the proxy has no local application to front. */
  inbound?: {
    host: string;
    port: number;
    app: Addr;
    protocol: ListenerProtocol;
    appProtocol: UpstreamProtocol;
    /** Who may reach the app through this port (default: everyone). */
    authorization: PortAuthzPolicy;
  };
  /** The proxy's workload identity (mTLS); absent: plaintext only. */
  identity?: IdentityConfig;
  services: ServiceConfig[];
  pool: PoolConfig;
  http2: Http2Config;
  /** Protocol detection: bytes read at most and the time to wait for them. */
  detect: { timeoutMs: number; maxBytes: number };
  /** A request whose response head has not arrived after this long gets 504; 0 disables. */
  responseTimeoutMs: number;
  /** Graceful shutdown: in-flight requests get this long to finish. */
  shutdownGraceMs: number;
  accessLog: { enabled: boolean };
  /** Add X-Forwarded-For / X-Forwarded-Proto / Forwarded headers on the inbound side. */
  forwardedHeaders: boolean;
  /** HTTPRoutes, in file order. */
  routes: RouteConfig[];
  /** A per-request deadline a client may ask for in a header ("250ms", "2s"), honoured per direction. */
  timeoutHeader: { name: string; outbound: boolean; inbound: boolean };
  /**
   * Client connections: a request head must arrive within headerMs of its first byte (else 408 and close), and a
   * connection waiting for its next request closes after idleMs; 0 turns either off.
   */
  clientTimeouts: { headerMs: number; idleMs: number };
  /**
   * A client's FIN while its request is in flight: false (default, like Envoy, Linkerd and nginx's 499) cancels the
   * request; true treats it as a half-close and still answers what was sent (for `printf ... | nc -N` style clients).
   */
  clientHalfClose: boolean;
  /** Faults asked for in request headers (testing only; off by default). */
  headerFaults: { enabled: boolean; delayHeader: string; abortHeader: string; maxDelayMs: number };
}
