// What an HTTP/1 server connection needs from the proxy around it.

import type { UpstreamProtocol } from "../config/types.ts";
import type { HeaderFaultOptions } from "../fault/fault.ts";
import type { Clock } from "../ports.ts";
import type { MatchRequest } from "../routing/match.ts";
import type { AccessLogRecord, Direction, PeerTag, ProxyMetrics } from "../telemetry/types.ts";
import type { H2Settings } from "./h2-pool.ts";
import type { Pools } from "./pool.ts";
import type { Backend } from "./backend.ts";
import type { Endpoint, RouteHit } from "./routes.ts";
import type { Dialer } from "./mesh-tls.ts";
import type { InboundAuthz } from "./inbound-authz.ts";

/** Where a request goes: a route rule over balanced services, a fixed endpoint (the inbound app), or an error. */
export type Resolution =
  | { kind: "route"; hit: RouteHit; backend: (name: string) => Backend | undefined }
  | { kind: "endpoint"; endpoint: Endpoint }
  | { kind: "error"; status: number; code: string; message: string };

export interface HttpContext {
  readonly direction: Direction;
  readonly clock: Clock;
  /** Connects to endpoints: plaintext, or mTLS to meshed ones. */
  readonly dialer: Dialer;
  readonly metrics: ProxyMetrics;
  readonly pools: Pools;
  /** Routes a request (its authority is already taken from the absolute-form target or Host). */
  resolve(req: MatchRequest): Resolution;
  /** Uniform in [0, 1): splits, balancers, faults, backoff jitter. */
  readonly random: () => number;
  /** The deadline header honoured on this listener, lower-case, or null. */
  timeoutHeader(): string | null;
  headerFaults(): HeaderFaultOptions;
  /** 0 disables the response timeout. */
  responseTimeoutMs(): number;
  /** Append x-forwarded-for / x-forwarded-proto (inbound). */
  forwardedHeaders(): boolean;
  connectTimeoutMs(): number;
  /** Settings of HTTP/2 connections, client and upstream side. */
  http2(): H2Settings;
  /** The protocol spoken to a fixed endpoint (the inbound app). */
  appProtocol(): UpstreamProtocol;
  /** null when the access log is off. */
  accessLog(): ((rec: AccessLogRecord) => void) | null;
  /** Client connection timeouts (ms, 0 = off): a partial request head, and waiting for the next request. */
  clientTimeouts(): { headerMs: number; idleMs: number };
  /** Whether a client's FIN is a half-close (answer what it sent) rather than giving up on the request. */
  clientHalfClose(): boolean;
  /** True once shutdown began: finish the current exchange, then close. */
  draining(): boolean;
  /** The metric labels of an endpoint that answered (outbound): tls and server_id. */
  endpointTag(ep: Endpoint): PeerTag;
  /** The inbound port's authorization (null on outbound listeners). */
  authz(): InboundAuthz | null;
  /** Registers an open client connection so shutdown can wait for it; returns the unregister function. */
  track(c: Tracked): () => void;
}

/** An open client connection as the proxy sees it. */
export interface Tracked {
  drain(): void;
  destroy(): void;
  /** Called about every `elapsedMs` by the proxy's timeout sweep. */
  sweep?(elapsedMs: number): void;
}
