// Defaults of the config file, in file form (durations as written in YAML). Linkerd's where Linkerd has one;
// the schema fills them in, so the normalized MeshletConfig never has a hole.

/** Methods retried by default: the idempotent ones (RFC 9110 9.2.2), as Linkerd and Envoy do. */
const IDEMPOTENT_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"] as const;

export const DEFAULTS = {
  admin: { host: "127.0.0.1", port: 4191 },
  outbound: { host: "127.0.0.1", port: 4140, protocol: "detect" },
  inbound: { host: "0.0.0.0", port: 4143, protocol: "detect", appProtocol: "auto" },
  listen: { host: "127.0.0.1", protocol: "detect" },
  pool: { maxIdlePerEndpoint: 64, idleTimeout: "3s", connectTimeout: "1s" },
  detect: { timeout: "10s", maxBytes: 1024 },
  responseTimeout: 0,
  shutdownGrace: "120s",
  accessLog: true,
  forwardedHeaders: true,
  /** services[] traffic policy. */
  service: {
    balancer: "peak-ewma",
    maxPending: 100_000,
    /** The protocol spoken to endpoints: "auto" is the client's (HTTP/2 stays HTTP/2), like Linkerd. */
    protocol: "auto",
  },
  /**
   * HTTP/2 connections, both sides. RFC 9113's defaults except the windows (the issue's 64 KiB per stream, 1 MiB per
   * connection, as Linkerd and Envoy raise them) and 100 concurrent streams (nginx, Go and Envoy's common value).
   */
  http2: {
    maxConcurrentStreams: 100,
    initialWindowSize: 65536,
    connectionWindowSize: 1048576,
    maxFrameSize: 16384,
    maxHeaderListSize: 65536,
    keepAliveInterval: 0,
    keepAliveTimeout: "20s",
  },
  /** balancer {kind: peak-ewma}: Linkerd's constants. */
  peakEwma: { defaultRtt: "30ms", decay: "10s" },
  /** services[].failureAccrual: Linkerd's consecutive-failures breaker. */
  failureAccrual: { consecutiveFailures: 7, minBackoff: "1s", maxBackoff: "60s", jitter: 0.5 },
  /** services[].retryBudget: Linkerd's. */
  retryBudget: { retryRatio: 0.2, minRetriesPerSecond: 10, ttl: "10s" },
  /** routes[].rules[]. */
  rule: {
    backendWeight: 1,
    timeouts: { request: 0, backendRequest: 0, idle: 0 },
    retry: {
      attempts: 2,
      conditions: ["gateway-error", "connect-failure", "reset"],
      codes: [],
      methods: IDEMPOTENT_METHODS,
      grpcCodes: ["unavailable"],
      backoff: { base: "25ms", max: "250ms" },
      bufferLimit: 65536,
    },
    /** fault.delay / fault.abort. */
    faultPercentage: 100,
    /** rateLimit; burst defaults to max(1, ceil(requestsPerSecond)). */
    rateLimit: { perClient: "none", maxClients: 10_000 },
  },
  timeoutHeader: { name: "x-meshlet-timeout", outbound: true, inbound: false },
  /** Client connections: nginx's client_header_timeout is 60 s, Go servers commonly use 10 s; Envoy's idle 1 h. */
  clientTimeouts: { header: "10s", idle: "1h" },
  clientHalfClose: false,
  headerFaults: { enabled: false, delayHeader: "x-meshlet-fault-delay", abortHeader: "x-meshlet-fault-abort", maxDelay: "60s" },
} as const;
