// The schema of routes[] (Gateway API HTTPRoute shape, attached to services as in GAMMA) and its per-rule traffic
// policy (timeouts, retry, fault, rateLimit). Routes stay in file form (parentRefs as [{name}]) until
// toRouteConfig, so the cross-checks in route-checks.ts see one shape; leaf policies are normalized in place.

import * as v from "valibot";
import type { HttpPathMatch, HttpPathModifier, HttpRouteFilter, HttpRouteMatch } from "../routing/types.ts";
import { grpcStatusFromName } from "../grpc/status.ts";
import { DEFAULTS } from "./defaults.ts";
import {
  duration,
  fromParser,
  int,
  isObj,
  keyPath,
  list,
  nonEmptyList,
  num,
  fmtMs,
  picklist,
  strict,
  tagged,
} from "./kit.ts";
import type { FaultConfig, RateLimitConfig, RetryConfig, RouteConfig, RouteTimeoutsConfig } from "./types.ts";
import {
  type ValueResult,
  describe,
  parseHeaderName,
  parseHeaderValue,
  parseHttpPath,
  parseMethod,
  parsePreciseHostname,
  parseRouteHostname,
} from "./values.ts";

const NAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62})$/;

/** A service or route name: 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit. */
export function objectName(what: string): v.GenericSchema<unknown, string> {
  return fromParser((input) =>
    typeof input === "string" && NAME_RE.test(input)
      ? { ok: true, value: input }
      : {
          ok: false,
          message: `expected ${what} (1-63 letters, digits, ".", "_" or "-", starting with a letter or digit), received ${describe(input)}`,
        },
  );
}

const ServiceName = objectName("a service name");
const HeaderName = fromParser((input) => parseHeaderName(input));
const HeaderValue = fromParser(parseHeaderValue);
const HttpPath = fromParser(parseHttpPath);
const Method = fromParser(parseMethod);
const Str = (what: string) => v.string((issue) => `expected ${what} (a string), received ${describe(issue.input)}`);
const NonEmptyStr = (what: string) =>
  fromParser((input) =>
    typeof input === "string" && input.length > 0
      ? { ok: true, value: input }
      : { ok: false, message: `expected ${what} (a non-empty string), received ${describe(input)}` },
  );
const MatchType = picklist(["Exact", "RegularExpression"] as const);

// ---- matches -------------------------------------------------------------------------------------------

const PathMatch = tagged<HttpPathMatch>(
  "type",
  {
    Exact: strict({ type: v.literal("Exact"), value: HttpPath }, "a path match"),
    // Gateway API defaults: type PathPrefix, value "/".
    PathPrefix: strict(
      { type: v.optional(v.literal("PathPrefix"), "PathPrefix"), value: v.optional(HttpPath, "/") },
      "a path match",
    ),
    RegularExpression: strict({ type: v.literal("RegularExpression"), value: NonEmptyStr("a regular expression") }, "a path match"),
  },
  "a path match",
  { defaultTag: "PathPrefix" },
);

export const HeaderMatch = strict({ type: v.optional(MatchType), name: HeaderName, value: Str("a header value") }, "a header match");
const QueryMatch = strict(
  { type: v.optional(MatchType), name: NonEmptyStr("a query parameter name"), value: Str("a query parameter value") },
  "a query parameter match",
);

export const Match: v.GenericSchema<unknown, HttpRouteMatch> = strict(
  {
    path: v.optional(PathMatch),
    headers: v.optional(list(HeaderMatch, "header matches")),
    queryParams: v.optional(list(QueryMatch, "query parameter matches")),
    method: v.optional(Method),
  },
  "a match",
);

// ---- filters -------------------------------------------------------------------------------------------

/** Headers a modifier may not touch: they frame the message or belong to the connection. */
const FRAMING_HEADERS = ["content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"];

function modifiableHeader(request: boolean): v.GenericSchema<unknown, string> {
  return fromParser((input) => {
    const r = parseHeaderName(input);
    if (!r.ok) return r;
    const lower = r.value.toLowerCase();
    if (FRAMING_HEADERS.includes(lower)) {
      return { ok: false, message: `header "${r.value}" cannot be modified: it frames the message or belongs to the connection` };
    }
    if (request && lower === "host") {
      return { ok: false, message: `header "host" cannot be modified here: use a URLRewrite filter's hostname` };
    }
    return r;
  });
}

function headerModifier(request: boolean) {
  const Name = modifiableHeader(request);
  const Header = strict({ name: Name, value: HeaderValue }, "a header");
  return v.pipe(
    strict(
      {
        set: v.optional(list(Header, "headers")),
        add: v.optional(list(Header, "headers")),
        remove: v.optional(list(Name, "header names")),
      },
      "a header modifier",
    ),
    v.rawCheck(({ dataset, addIssue }) => {
      // Gateway API: names are unique within set, within add and within remove (case-insensitively).
      const value: unknown = dataset.value;
      if (!isObj(value)) return;
      for (const key of ["set", "add", "remove"] as const) {
        const items = value[key];
        if (!Array.isArray(items)) continue;
        const seen = new Map<string, number>();
        items.forEach((item: unknown, i) => {
          const name = typeof item === "string" ? item : isObj(item) && typeof item.name === "string" ? item.name : undefined;
          if (name === undefined) return;
          const first = seen.get(name.toLowerCase());
          if (first === undefined) seen.set(name.toLowerCase(), i);
          else {
            addIssue({
              message: `header "${name}" is listed twice in ${key} (also ${key}[${first}])`,
              path: [...keyPath(value, key), { type: "array", origin: "value", input: items, key: i, value: item }],
            });
          }
        });
      }
    }),
  );
}

const PathModifier: v.GenericSchema<unknown, HttpPathModifier> = tagged<HttpPathModifier>(
  "type",
  {
    ReplaceFullPath: strict({ type: v.literal("ReplaceFullPath"), replaceFullPath: HttpPath }, "a path modifier"),
    ReplacePrefixMatch: strict({ type: v.literal("ReplacePrefixMatch"), replacePrefixMatch: HttpPath }, "a path modifier"),
  },
  "a path modifier",
);

const PreciseHostname = fromParser(parsePreciseHostname);

const Redirect = strict(
  {
    scheme: v.optional(picklist(["http", "https"] as const)),
    hostname: v.optional(PreciseHostname),
    port: v.optional(int(1, 65535, "a port")),
    path: v.optional(PathModifier),
    statusCode: v.optional(picklist([301, 302] as const)),
  },
  "a redirect",
);

const Rewrite = strict({ hostname: v.optional(PreciseHostname), path: v.optional(PathModifier) }, "a URL rewrite");

export const FILTER_TYPES = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"] as const;

export const Filter = tagged<HttpRouteFilter>(
  "type",
  {
    RequestHeaderModifier: strict(
      { type: v.literal("RequestHeaderModifier"), requestHeaderModifier: headerModifier(true) },
      "a filter",
    ),
    ResponseHeaderModifier: strict(
      { type: v.literal("ResponseHeaderModifier"), responseHeaderModifier: headerModifier(false) },
      "a filter",
    ),
    RequestRedirect: strict({ type: v.literal("RequestRedirect"), requestRedirect: Redirect }, "a filter"),
    URLRewrite: strict({ type: v.literal("URLRewrite"), urlRewrite: Rewrite }, "a filter"),
  },
  "a filter",
  { unsupported: ["RequestMirror", "ExtensionRef", "CORS", "ExternalAuth"] },
);

// ---- backends and per-rule policy ----------------------------------------------------------------------

export const BackendRef = strict(
  { name: ServiceName, weight: v.optional(int(0, 1_000_000, "a weight"), DEFAULTS.rule.backendWeight) },
  "a backend reference",
);

export const Timeouts: v.GenericSchema<unknown, RouteTimeoutsConfig> = v.pipe(
  strict(
    {
      request: v.optional(duration(0), DEFAULTS.rule.timeouts.request),
      backendRequest: v.optional(duration(0), DEFAULTS.rule.timeouts.backendRequest),
      idle: v.optional(duration(0), DEFAULTS.rule.timeouts.idle),
    },
    "the timeouts",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    // Gateway API: backendRequest may not be longer than request (0 = none, which is longer than anything).
    const t: unknown = dataset.value;
    if (!isObj(t) || typeof t.request !== "number" || typeof t.backendRequest !== "number") return;
    if (t.request > 0 && t.backendRequest > t.request) {
      addIssue({
        message: `backendRequest (${fmtMs(t.backendRequest)}) must not exceed request (${fmtMs(t.request)}), which covers every try`,
        path: keyPath(t, "backendRequest"),
      });
    }
  }),
  v.transform((t): RouteTimeoutsConfig => ({ requestMs: t.request, backendRequestMs: t.backendRequest, idleMs: t.idle })),
);

const RETRY_CONDITIONS = ["5xx", "gateway-error", "connect-failure", "reset"] as const;

/** A gRPC status: its number 0..16 or its name ("unavailable", "RESOURCE_EXHAUSTED", "deadline-exceeded"). */
const GrpcCode = fromParser((input): ValueResult<number> => {
  const code = typeof input === "number" ? (Number.isInteger(input) && input >= 0 && input <= 16 ? input : undefined)
    : typeof input === "string" ? grpcStatusFromName(input) : undefined;
  return code !== undefined ? { ok: true, value: code }
    : { ok: false, message: `expected a gRPC status code (0..16 or a name like "unavailable"), received ${describe(input)}` };
});
const D = DEFAULTS.rule.retry;

const Backoff = v.pipe(
  strict(
    { base: v.optional(duration(0), D.backoff.base), max: v.optional(duration(0), D.backoff.max) },
    "the retry backoff",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    const b: unknown = dataset.value;
    if (isObj(b) && typeof b.base === "number" && typeof b.max === "number" && b.base > b.max) {
      addIssue({ message: `backoff base (${fmtMs(b.base)}) must not exceed max (${fmtMs(b.max)})`, path: keyPath(b, "base") });
    }
  }),
  v.transform((b) => ({ baseMs: b.base, maxMs: b.max })),
);

export const Retry: v.GenericSchema<unknown, RetryConfig> = v.pipe(
  strict(
    {
      attempts: v.optional(int(0, 10, "a retry count"), D.attempts),
      conditions: v.optional(list(picklist(RETRY_CONDITIONS), "retry conditions"), () => [...D.conditions]),
      codes: v.optional(list(int(100, 599, "an HTTP status"), "HTTP statuses"), () => [...D.codes]),
      methods: v.optional(list(Method, "HTTP methods"), () => [...D.methods]),
      grpcCodes: v.optional(list(GrpcCode, "gRPC status codes"), () => D.grpcCodes.map((n) => grpcStatusFromName(n)!)),
      backoff: v.optional(Backoff, {}),
      bufferLimit: v.optional(int(0, 16 * 1024 * 1024, "a byte count"), D.bufferLimit),
    },
    "the retry policy",
  ),
  v.transform(
    (r): RetryConfig => ({
      attempts: r.attempts,
      conditions: r.conditions,
      codes: r.codes,
      methods: r.methods,
      grpcCodes: r.grpcCodes,
      backoff: r.backoff,
      bufferLimitBytes: r.bufferLimit,
    }),
  ),
);

const Percentage = v.optional(num(0, 100, "a percentage"), DEFAULTS.rule.faultPercentage);

export const Fault: v.GenericSchema<unknown, FaultConfig> = v.pipe(
  strict(
    {
      delay: v.optional(strict({ duration: duration(0), percentage: Percentage }, "a delay")),
      abort: v.optional(strict({ httpStatus: int(200, 599, "an HTTP status"), percentage: Percentage }, "an abort")),
    },
    "the fault injection settings",
  ),
  v.check((f) => !isObj(f) || "delay" in f || "abort" in f, "expected a delay, an abort or both, received neither"),
  v.transform((f): FaultConfig => {
    const out: FaultConfig = {};
    if (f.delay !== undefined) out.delay = { durationMs: f.delay.duration, percentage: f.delay.percentage };
    if (f.abort !== undefined) out.abort = { httpStatus: f.abort.httpStatus, percentage: f.abort.percentage };
    return out;
  }),
);

export const RateLimit: v.GenericSchema<unknown, RateLimitConfig> = v.pipe(
  strict(
    {
      requestsPerSecond: num(0, 1_000_000_000, "a rate", true),
      burst: v.optional(int(1, 1_000_000_000, "a request count")),
      perClient: v.optional(picklist(["none", "address", "identity"] as const), DEFAULTS.rule.rateLimit.perClient),
      maxClients: v.optional(int(1, 10_000_000, "a client count"), DEFAULTS.rule.rateLimit.maxClients),
    },
    "the rate limit",
  ),
  v.transform(
    (r): RateLimitConfig => ({
      requestsPerSecond: r.requestsPerSecond,
      burst: r.burst ?? Math.max(1, Math.ceil(r.requestsPerSecond)),
      perClient: r.perClient,
      maxClients: r.maxClients,
    }),
  ),
);

// ---- rules and routes ----------------------------------------------------------------------------------

const Rule = strict(
  {
    matches: v.optional(list(Match, "matches")),
    filters: v.optional(list(Filter, "filters")),
    backendRefs: v.optional(list(BackendRef, "backend references"), []),
    timeouts: v.optional(Timeouts, {}),
    retry: v.optional(Retry),
    fault: v.optional(Fault),
    rateLimit: v.optional(RateLimit),
  },
  "a rule",
);

export const ParentRef = strict({ name: ServiceName }, "a parent reference");

export const Route = strict(
  {
    name: objectName("a route name"),
    parentRefs: nonEmptyList(ParentRef, "parent references (services)"),
    hostnames: v.optional(list(fromParser(parseRouteHostname), "hostnames"), []),
    rules: nonEmptyList(Rule, "rules"),
  },
  "a route",
);

/** The normalized route: parentRefs as names, absent policies as null, absent optional keys left out. */
export function toRouteConfig(r: v.InferOutput<typeof Route>, index: number): RouteConfig {
  return {
    name: r.name,
    parentRefs: r.parentRefs.map((p) => p.name),
    hostnames: r.hostnames,
    rules: r.rules.map((rule) => ({
      ...(rule.matches !== undefined ? { matches: rule.matches } : {}),
      ...(rule.filters !== undefined ? { filters: rule.filters } : {}),
      backendRefs: rule.backendRefs.map((b) => ({ name: b.name, weight: b.weight })),
      timeouts: rule.timeouts,
      retry: rule.retry ?? null,
      fault: rule.fault ?? null,
      rateLimit: rule.rateLimit ?? null,
    })),
    createdAt: index,
  };
}
