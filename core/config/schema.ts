// The valibot schema of the config *file* (YAML or JSON). Its output is the normalized MeshletConfig:
// defaults filled in, durations in ms, addresses split into host and port, hostnames lower-cased.
// Objects are strict (every unknown key is reported, with a suggestion), and cross-field checks run even when
// other fields are bad, so one parse lists every problem.

import * as v from "valibot";
import type { Addr } from "../ports.ts";
import { crossChecks, type PathKey } from "./checks.ts";
import type { ListenerProtocol, MeshletConfig, ServiceConfig } from "./types.ts";
import {
  addressExpected,
  describe,
  parseAddressString,
  parseDuration,
  parseHost,
  parseHostname,
  parsePort,
  type ValueResult,
} from "./values.ts";

/** Defaults, in file form (Linkerd's where Linkerd has one). */
export const DEFAULTS = {
  admin: { host: "127.0.0.1", port: 4191 },
  outbound: { host: "127.0.0.1", port: 4140, protocol: "detect" },
  inbound: { host: "0.0.0.0", port: 4143, protocol: "detect" },
  listen: { host: "127.0.0.1", protocol: "detect" },
  pool: { maxIdlePerEndpoint: 64, idleTimeout: "3s", connectTimeout: "1s" },
  detect: { timeout: "10s", maxBytes: 1024 },
  responseTimeout: 0,
  shutdownGrace: "120s",
  accessLog: true,
  forwardedHeaders: true,
} as const;

// ---- building blocks -------------------------------------------------------------------------------------

/** A schema from a value parser: the parser's message becomes the issue message. */
function fromParser<T>(parse: (input: unknown) => ValueResult<T>): v.GenericSchema<unknown, T> {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const r = parse(dataset.value);
      if (!r.ok) {
        addIssue({ message: r.message });
        return NEVER;
      }
      return r.value;
    }),
  );
}

/** A schema that always fails with "expected <what>, received <input>". */
function never(what: string): v.GenericSchema<unknown, never> {
  return fromParser<never>((input) => ({ ok: false, message: `expected ${what}, received ${describe(input)}` }));
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * A strict object: like v.strictObject, but reports every unknown key (not only the first), suggests the key
 * that was probably meant, rejects lists, and says which required key is missing.
 */
function strict<const E extends v.ObjectEntries>(entries: E, what: string) {
  const known = Object.keys(entries);
  const loose: v.GenericSchema<unknown, Record<string, unknown>> = v.looseObject(entries, (issue) =>
    issue.path && issue.input === undefined
      ? `missing required key ${issue.expected}`
      : `expected ${what} (a mapping), received ${describe(issue.input)}`,
  );
  const object = v.pipe(
    loose,
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      const value: unknown = dataset.value;
      if (!isObj(value)) return;
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        addIssue({
          message: unknownKeyMessage(key, known),
          path: [{ type: "object", origin: "key", input: value, key, value: value[key] }],
        });
      }
    }),
    v.transform((value) => {
      const out: Record<string, unknown> = {};
      for (const key of known) if (key in value) out[key] = value[key];
      return out as v.InferOutput<v.ObjectSchema<E, undefined>>;
    }),
  );
  return v.lazy((input) => (Array.isArray(input) ? never(`${what} (a mapping)`) : object));
}

function unknownKeyMessage(key: string, known: string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const guess =
    known.find((k) => norm(k) === norm(key)) ??
    known.find((k) => norm(k) === `${norm(key)}s` || `${norm(k)}s` === norm(key)) ??
    known.find((k) => editDistance(norm(k), norm(key)) <= 2);
  const hint = guess ? `; did you mean "${guess}"?` : "";
  return `unknown key "${key}" (expected one of: ${known.join(", ")})${hint}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function list<T>(item: v.GenericSchema<unknown, T>, what: string) {
  return v.array(item, (issue) => `expected a list of ${what}, received ${describe(issue.input)}`);
}

function int(min: number, max: number, what: string): v.GenericSchema<unknown, number> {
  return fromParser((input) =>
    typeof input === "number" && Number.isInteger(input) && input >= min && input <= max
      ? { ok: true, value: input }
      : { ok: false, message: `expected ${what} (an integer ${min}..${max}), received ${describe(input)}` },
  );
}

const Bool = v.boolean((issue) => `expected true or false, received ${describe(issue.input)}`);
const duration = (minMs = 0) => fromParser((input) => parseDuration(input, minMs));
const Host = fromParser(parseHost);
const ListenPort = fromParser((input) => parsePort(input, 0));
const EndpointPort = fromParser((input) => parsePort(input, 1));
const Hostname = fromParser(parseHostname);
const Protocol = v.picklist(
  ["detect", "opaque"],
  (issue) => `expected "detect" or "opaque", received ${describe(issue.input)}`,
) as v.GenericSchema<unknown, ListenerProtocol>;

const SERVICE_NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;
const ServiceName = fromParser((input) =>
  typeof input === "string" && SERVICE_NAME_RE.test(input)
    ? { ok: true, value: input }
    : {
        ok: false,
        message: `expected a service name (1-63 letters, digits, ".", "_" or "-", starting with a letter or digit), received ${describe(input)}`,
      },
);

/** An endpoint address: "host:port", "[v6]:port" or {host, port}; port 1..65535. */
const EndpointObject = strict({ host: Host, port: EndpointPort }, "an address");
const Endpoint: v.GenericSchema<unknown, Addr> = v.lazy((input) => {
  if (typeof input === "string") return fromParser(() => parseAddressString(input, 1));
  if (isObj(input)) return EndpointObject;
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
    app: Endpoint,
    protocol: v.optional(Protocol, DEFAULTS.inbound.protocol),
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
  },
  "a service",
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
    services: v.optional(list(Service, "services"), []),
    pool: v.optional(Pool, {}),
    detect: v.optional(Detect, {}),
    responseTimeout: v.optional(duration(0), DEFAULTS.responseTimeout),
    shutdownGrace: v.optional(duration(0), DEFAULTS.shutdownGrace),
    accessLog: v.optional(AccessLog, DEFAULTS.accessLog),
    forwardedHeaders: v.optional(Bool, DEFAULTS.forwardedHeaders),
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
      const svc: ServiceConfig = { name: s.name, hostnames: s.hostnames, endpoints: s.endpoints };
      if (s.listen) svc.listen = { host: s.listen.host, port: s.listen.port, protocol: s.listen.protocol };
      return svc;
    });
    const config: MeshletConfig = {
      admin: { host: f.admin.host, port: f.admin.port },
      outbound: { host: f.outbound.host, port: f.outbound.port, protocol: f.outbound.protocol },
      services,
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
    };
    if (f.outbound.opaqueService !== undefined) config.outbound.opaqueService = f.outbound.opaqueService;
    if (f.inbound) {
      config.inbound = { host: f.inbound.host, port: f.inbound.port, app: f.inbound.app, protocol: f.inbound.protocol };
    }
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
