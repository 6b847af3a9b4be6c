// The valibot schema of the config *file* (YAML or JSON). Its output is the normalized MeshletConfig:
// defaults filled in, durations in ms, addresses split into host and port, hostnames lower-cased.
// Objects are strict (every unknown key is reported, with a suggestion), and cross-field checks run even when
// other fields are bad, so one parse lists every problem.

import * as v from "valibot";
import type { Addr } from "../ports.ts";
import { crossChecks, type PathKey } from "./checks.ts";
import { DEFAULTS } from "./defaults.ts";
import { Bool, duration, fromParser, int, isObj, list, never, picklist, strict } from "./kit.ts";
import {
  Balancer,
  ClientTimeouts,
  FailureAccrual,
  HeaderFaults,
  MaxPending,
  RetryBudget,
  TimeoutHeader,
} from "./policy-schema.ts";
import { objectName, Route, toRouteConfig } from "./routes-schema.ts";
import { GrpcRoute, grpcToRouteConfig } from "./grpc-routes-schema.ts";
import { Authorization, Identity, MeshedEndpoint } from "./identity-schema.ts";
import type { EndpointConfig, ListenerProtocol, MeshletConfig, ServiceConfig, UpstreamProtocol } from "./types.ts";
import { addressExpected, describe, parseAddressString, parseHost, parseHostname, parsePort } from "./values.ts";

export { DEFAULTS };

// ---- building blocks (the generic ones are in kit.ts) ----------------------------------------------------

const Host = fromParser(parseHost);
const ListenPort = fromParser((input) => parsePort(input, 0));
const EndpointPort = fromParser((input) => parsePort(input, 1));
const Hostname = fromParser(parseHostname);
const Protocol = v.picklist(
  ["detect", "opaque"],
  (issue) => `expected "detect" or "opaque", received ${describe(issue.input)}`,
) as v.GenericSchema<unknown, ListenerProtocol>;

const ServiceName = objectName("a service name");
const UPSTREAM_PROTOCOLS: readonly UpstreamProtocol[] = ["auto", "http1", "h2c"];

/** An endpoint: "host:port", "[v6]:port" or {host, port, weight?, identity?}; port 1..65535, weight 1..10000. */
const Endpoint: v.GenericSchema<unknown, EndpointConfig> = MeshedEndpoint;

/** The inbound app: an address without a weight. */
const AppObject = strict({ host: Host, port: EndpointPort }, "an address");
const App: v.GenericSchema<unknown, Addr> = v.lazy((input) => {
  if (typeof input === "string") return fromParser(() => parseAddressString(input, 1));
  if (isObj(input)) return AppObject;
  return never(addressExpected());
});

// ---- sections ------------------------------------------------------------------------------------------

const Admin = strict(
  {
    host: v.optional(Host, DEFAULTS.admin.host),
    port: v.optional(ListenPort, DEFAULTS.admin.port),
  },
  "the admin listener",
);

const Outbound = strict(
  {
    host: v.optional(Host, DEFAULTS.outbound.host),
    port: v.optional(ListenPort, DEFAULTS.outbound.port),
    protocol: v.optional(Protocol, DEFAULTS.outbound.protocol),
    opaqueService: v.optional(ServiceName),
  },
  "the outbound listener",
);

const Inbound = strict(
  {
    host: v.optional(Host, DEFAULTS.inbound.host),
    port: v.optional(ListenPort, DEFAULTS.inbound.port),
    app: App,
    protocol: v.optional(Protocol, DEFAULTS.inbound.protocol),
    appProtocol: v.optional(picklist(UPSTREAM_PROTOCOLS), DEFAULTS.inbound.appProtocol),
    authorization: v.optional(Authorization),
  },
  "the inbound listener",
);

const Listen = strict(
  {
    host: v.optional(Host, DEFAULTS.listen.host),
    port: ListenPort,
    protocol: v.optional(Protocol, DEFAULTS.listen.protocol),
  },
  "a service listener",
);

const Service = strict(
  {
    name: ServiceName,
    hostnames: v.optional(list(Hostname, "hostnames"), []),
    endpoints: list(Endpoint, "endpoint addresses"),
    listen: v.optional(Listen),
    balancer: v.optional(Balancer, DEFAULTS.service.balancer),
    failureAccrual: v.optional(FailureAccrual, true),
    retryBudget: v.optional(RetryBudget, {}),
    maxPending: v.optional(MaxPending, DEFAULTS.service.maxPending),
    protocol: v.optional(picklist(UPSTREAM_PROTOCOLS), DEFAULTS.service.protocol),
  },
  "a service",
);

const MAX_WINDOW = 2 ** 31 - 1;
const Http2 = strict(
  {
    maxConcurrentStreams: v.optional(int(1, MAX_WINDOW, "a stream count"), DEFAULTS.http2.maxConcurrentStreams),
    initialWindowSize: v.optional(int(1, MAX_WINDOW, "a window size in bytes"), DEFAULTS.http2.initialWindowSize),
    connectionWindowSize: v.optional(int(65535, MAX_WINDOW, "a window size in bytes"), DEFAULTS.http2.connectionWindowSize),
    maxFrameSize: v.optional(int(16384, 16777215, "a frame size in bytes"), DEFAULTS.http2.maxFrameSize),
    maxHeaderListSize: v.optional(int(1024, 16777216, "a byte count"), DEFAULTS.http2.maxHeaderListSize),
    keepAliveInterval: v.optional(duration(0), DEFAULTS.http2.keepAliveInterval),
    keepAliveTimeout: v.optional(duration(1), DEFAULTS.http2.keepAliveTimeout),
  },
  "the HTTP/2 settings",
);

const Pool = strict(
  {
    maxIdlePerEndpoint: v.optional(int(0, 1_000_000, "a connection count"), DEFAULTS.pool.maxIdlePerEndpoint),
    idleTimeout: v.optional(duration(0), DEFAULTS.pool.idleTimeout),
    connectTimeout: v.optional(duration(1), DEFAULTS.pool.connectTimeout),
  },
  "the pool settings",
);

const Detect = strict(
  {
    timeout: v.optional(duration(1), DEFAULTS.detect.timeout),
    // 24 bytes is the HTTP/2 connection preface, the longest fixed prefix detection must see.
    maxBytes: v.optional(int(24, 65536, "a byte count"), DEFAULTS.detect.maxBytes),
  },
  "the protocol detection settings",
);

const AccessLogObject = strict({ enabled: v.optional(Bool, true) }, "the access log settings");
const AccessLog: v.GenericSchema<unknown, { enabled: boolean }> = v.lazy((input) => {
  if (typeof input === "boolean") return v.pipe(Bool, v.transform((enabled) => ({ enabled })));
  if (isObj(input)) return AccessLogObject;
  return never("true, false or a mapping {enabled}");
});

const File = strict(
  {
    admin: v.optional(Admin, {}),
    outbound: v.optional(Outbound, {}),
    inbound: v.optional(Inbound),
    identity: v.optional(Identity),
    services: v.optional(list(Service, "services"), []),
    pool: v.optional(Pool, {}),
    http2: v.optional(Http2, {}),
    detect: v.optional(Detect, {}),
    responseTimeout: v.optional(duration(0), DEFAULTS.responseTimeout),
    shutdownGrace: v.optional(duration(0), DEFAULTS.shutdownGrace),
    accessLog: v.optional(AccessLog, DEFAULTS.accessLog),
    forwardedHeaders: v.optional(Bool, DEFAULTS.forwardedHeaders),
    routes: v.optional(list(Route, "routes"), []),
    grpcRoutes: v.optional(list(GrpcRoute, "gRPC routes"), []),
    timeoutHeader: v.optional(TimeoutHeader, {}),
    clientTimeouts: v.optional(ClientTimeouts, {}),
    clientHalfClose: v.optional(Bool, DEFAULTS.clientHalfClose),
    headerFaults: v.optional(HeaderFaults, {}),
  },
  "the configuration",
);

/** The file-format schema; its output is the validated MeshletConfig. */
export const ConfigSchema: v.GenericSchema<unknown, MeshletConfig> = v.pipe(
  File,
  v.rawCheck(({ dataset, addIssue }) => {
    for (const issue of crossChecks(dataset.value)) {
      addIssue({ message: issue.message, path: pathItems(dataset.value, issue.path) });
    }
  }),
  v.transform((f): MeshletConfig => {
    const services = f.services.map((s): ServiceConfig => {
      const svc: ServiceConfig = {
        name: s.name,
        hostnames: s.hostnames,
        endpoints: s.endpoints,
        balancer: s.balancer,
        failureAccrual: s.failureAccrual,
        retryBudget: s.retryBudget,
        maxPending: s.maxPending,
        protocol: s.protocol,
      };
      if (s.listen) svc.listen = { host: s.listen.host, port: s.listen.port, protocol: s.listen.protocol };
      return svc;
    });
    const config: MeshletConfig = {
      admin: { host: f.admin.host, port: f.admin.port },
      outbound: { host: f.outbound.host, port: f.outbound.port, protocol: f.outbound.protocol },
      services,
      http2: {
        maxConcurrentStreams: f.http2.maxConcurrentStreams,
        initialWindowSize: f.http2.initialWindowSize,
        connectionWindowSize: f.http2.connectionWindowSize,
        maxFrameSize: f.http2.maxFrameSize,
        maxHeaderListSize: f.http2.maxHeaderListSize,
        keepAliveIntervalMs: f.http2.keepAliveInterval,
        keepAliveTimeoutMs: f.http2.keepAliveTimeout,
      },
      pool: {
        maxIdlePerEndpoint: f.pool.maxIdlePerEndpoint,
        idleTimeoutMs: f.pool.idleTimeout,
        connectTimeoutMs: f.pool.connectTimeout,
      },
      detect: { timeoutMs: f.detect.timeout, maxBytes: f.detect.maxBytes },
      responseTimeoutMs: f.responseTimeout,
      shutdownGraceMs: f.shutdownGrace,
      accessLog: { enabled: f.accessLog.enabled },
      forwardedHeaders: f.forwardedHeaders,
      routes: [...f.routes.map(toRouteConfig), ...f.grpcRoutes.map((r, i) => grpcToRouteConfig(r, f.routes.length + i))],
      timeoutHeader: f.timeoutHeader,
      clientTimeouts: f.clientTimeouts,
      clientHalfClose: f.clientHalfClose,
      headerFaults: f.headerFaults,
    };
    if (f.outbound.opaqueService !== undefined) config.outbound.opaqueService = f.outbound.opaqueService;
    if (f.inbound) {
      config.inbound = {
        host: f.inbound.host, port: f.inbound.port, app: f.inbound.app, protocol: f.inbound.protocol,
        appProtocol: f.inbound.appProtocol,
        authorization: f.inbound.authorization ?? { defaultAction: "allow", rules: [], routes: [] },
      };
    }
    if (f.identity !== undefined) config.identity = f.identity;
    return config;
  }),
);

/** valibot path items for a path of keys into `root`. */
function pathItems(root: unknown, keys: PathKey[]): [v.IssuePathItem, ...v.IssuePathItem[]] {
  const items: v.IssuePathItem[] = [];
  let input: unknown = root;
  for (const key of keys) {
    const value = (input as Record<PathKey, unknown> | undefined)?.[key];
    items.push(
      typeof key === "number"
        ? { type: "array", origin: "value", input: input as unknown[], key, value }
        : { type: "object", origin: "value", input: input as Record<string, unknown>, key, value },
    );
    input = value;
  }
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}
