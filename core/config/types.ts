// The validated, normalized configuration the proxy runs on (what parseConfig returns).
// Durations are milliseconds; addresses are split into host and port.

import type { Addr } from "../ports.ts";

/** How a listener treats an accepted connection: detect the protocol, or proxy bytes as they are. */
export type ListenerProtocol = "detect" | "opaque";

export interface ServiceConfig {
  name: string;
  /** Authorities (Host header values, without port or with it) that route to this service; lower-case. */
  hostnames: string[];
  endpoints: Addr[];
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
  };
  services: ServiceConfig[];
  pool: PoolConfig;
  /** Protocol detection: bytes read at most and the time to wait for them. */
  detect: { timeoutMs: number; maxBytes: number };
  /** A request whose response head has not arrived after this long gets 504; 0 disables. */
  responseTimeoutMs: number;
  /** Graceful shutdown: in-flight requests get this long to finish. */
  shutdownGraceMs: number;
  accessLog: { enabled: boolean };
  /** Add X-Forwarded-For / X-Forwarded-Proto / Forwarded headers on the inbound side. */
  forwardedHeaders: boolean;
}
