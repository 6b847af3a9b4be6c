// GRPCRoute (Gateway API): matches on the gRPC service and method and on headers, with the same policies as an
// HTTPRoute rule. Each GRPCRoute compiles to an HTTPRoute whose path matches are the gRPC request paths
// (/package.Service/Method): service and method Exact -> Exact path, service only -> PathPrefix "/service/",
// method only or RegularExpression -> RegularExpression path. The HTTPRoute precedence then ranks them as the
// GRPCRoute rules do in practice: an exact method first, then the longest service, then expressions.

import * as v from "valibot";
import type { HttpPathMatch, HttpRouteMatch } from "../routing/types.ts";
import { isObj, list, nonEmptyList, picklist, strict } from "./kit.ts";
import { BackendRef, Fault, Filter, HeaderMatch, objectName, ParentRef, RateLimit, Retry, Timeouts, toRouteConfig } from "./routes-schema.ts";
import type { RouteConfig } from "./types.ts";
import { parseRouteHostname } from "./values.ts";
import { fromParser } from "./kit.ts";

/** A gRPC service ("package.Service") or method name: no "/" (it would change the path). */
const GrpcName = v.pipe(
  v.string((i) => `expected a string, received ${typeof i.input}`),
  v.regex(/^[^/\s]+$/, (i) => `expected a gRPC service or method name without "/" or spaces, received ${JSON.stringify(i.input)}`),
);

const MethodMatch = v.pipe(
  strict(
    {
      type: v.optional(picklist(["Exact", "RegularExpression"] as const), "Exact"),
      service: v.optional(GrpcName),
      method: v.optional(GrpcName),
    },
    "a gRPC method match",
  ),
  v.check((m) => !isObj(m) || m.service !== undefined || m.method !== undefined, "expected a service, a method or both, received neither"),
);

const GrpcMatch = strict(
  { method: v.optional(MethodMatch), headers: v.optional(list(HeaderMatch, "header matches")) },
  "a gRPC match",
);

/** GRPCRoute filters: the header modifiers (redirects and rewrites are HTTP-only). */
const GrpcFilter = v.pipe(
  Filter,
  v.check((f) => f.type === "RequestHeaderModifier" || f.type === "ResponseHeaderModifier",
    "a GRPCRoute rule takes RequestHeaderModifier and ResponseHeaderModifier filters only"),
);

const GrpcRule = strict(
  {
    matches: v.optional(list(GrpcMatch, "matches")),
    filters: v.optional(list(GrpcFilter, "filters")),
    backendRefs: v.optional(list(BackendRef, "backend references"), []),
    timeouts: v.optional(Timeouts, {}),
    retry: v.optional(Retry),
    fault: v.optional(Fault),
    rateLimit: v.optional(RateLimit),
  },
  "a gRPC rule",
);

export const GrpcRoute = strict(
  {
    name: objectName("a route name"),
    parentRefs: nonEmptyList(ParentRef, "parent references (services)"),
    hostnames: v.optional(list(fromParser(parseRouteHostname), "hostnames"), []),
    rules: nonEmptyList(GrpcRule, "rules"),
  },
  "a gRPC route",
);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The path match for a gRPC method match. */
export function grpcPathMatch(m: { type: "Exact" | "RegularExpression"; service?: string; method?: string }): HttpPathMatch {
  if (m.type === "Exact") {
    if (m.service !== undefined && m.method !== undefined) return { type: "Exact", value: `/${m.service}/${m.method}` };
    if (m.service !== undefined) return { type: "PathPrefix", value: `/${m.service}` };
    return { type: "RegularExpression", value: `/[^/]+/${escape(m.method!)}` };
  }
  return { type: "RegularExpression", value: `/(?:${m.service ?? "[^/]+"})/(?:${m.method ?? "[^/]+"})` };
}

/** The HTTPRoute a GRPCRoute compiles to (createdAt after every HTTPRoute: `index` counts on from them). */
export function grpcToRouteConfig(r: v.InferOutput<typeof GrpcRoute>, index: number): RouteConfig {
  const rules = r.rules.map(({ matches, ...rule }) => (matches === undefined ? rule : { ...rule, matches: matches.map(toHttpMatch) }));
  return toRouteConfig({ ...r, rules }, index);
}

function toHttpMatch(m: v.InferOutput<typeof GrpcMatch>): HttpRouteMatch {
  const out: { path?: HttpPathMatch; headers?: HttpRouteMatch["headers"] } = {};
  if (m.method !== undefined) out.path = grpcPathMatch(m.method);
  if (m.headers !== undefined) out.headers = m.headers;
  return out;
}
