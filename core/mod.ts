// The public API of the runtime-free core (`meshlet`).
export type * from "./ports.ts";
export { MeshletError, isMeshletError, type ErrorCode } from "./errors.ts";
export { parseConfig, parseConfigSource, parseConfigText, loadYamlSupport, formatConfigIssues, type ConfigIssue, type ConfigResult } from "./config/parse.ts";
export type {
  MeshletConfig,
  ServiceConfig,
  PoolConfig,
  ListenerProtocol,
  EndpointConfig,
  BalancerConfig,
  HashOn,
  FailureAccrualConfig,
  RetryBudgetConfig,
  RetryConfig,
  RouteTimeoutsConfig,
  FaultConfig,
  RateLimitConfig,
  RouteRuleConfig,
  RouteConfig,
} from "./config/types.ts";
export { createProxy, type Proxy, type ProxyOptions, type LogFn } from "./proxy/proxy.ts";
export type { TlsCredentials } from "./identity/credentials.ts";
export type { CertificateIssuer, IssuedCertificate, KeyMaterial } from "./identity/issuer.ts";
export { MetricsStore } from "./telemetry/metrics.ts";
export { formatAccessLog } from "./telemetry/access-log.ts";
export type {
  AccessLogRecord,
  ProxyMetrics,
  Direction,
  HttpMetrics,
  TcpMetrics,
  RouteMetrics,
  ServiceMetrics,
  EndpointGauge,
} from "./telemetry/types.ts";
export { createAdminApp, type AdminDeps } from "./admin/app.ts";
