// Route matching with the Gateway API HTTPRoute precedence rules.
//
// compileRoutes() turns routes into one entry per (route, rule, match), grouped by hostname into buckets:
// exact hosts, wildcard suffixes ("*.example.com" -> ".example.com") and a catch-all (routes without hostnames).
// Each bucket is sorted once by precedence:
//   1. Exact path, then RegularExpression (implementation-specific in the spec; ranked like Envoy Gateway),
//      then PathPrefix; within a kind, the longer value first
//   2. a method match present
//   3. more header matches
//   4. more query-param matches
//   5. older route (createdAt), then route name, then rule order, then match order.
// Across buckets a request tries: its exact host, then wildcard suffixes longest first, then the catch-all; the
// first entry that matches wins. Regexes are compiled once, here.
//
// Cost: compile O(E log E) for E entries. match(): O(L) map lookups for a host of L labels, then a scan of the
// tried buckets in precedence order, O(E) in the worst case with O(h + q) per entry (h header, q query matches);
// the query string is parsed at most once per request, and only if an entry looks at it.

import { MeshletError } from "../errors.ts";
import { getHeader, getHeaderAll } from "../http1/headers.ts";
import type { HeaderList } from "../http1/types.ts";
import type { HttpRoute, HttpRouteMatch, HttpRouteRule } from "./types.ts";

export interface MatchRequest {
  /** Host header value or authority, any case, port allowed. */
  readonly authority: string;
  readonly method: string;
  /** The path, without the query. */
  readonly path: string;
  /** The query without "?", "" if none. */
  readonly query: string;
  readonly headers: HeaderList;
}

export interface RouteMatchResult {
  readonly route: HttpRoute;
  readonly rule: HttpRouteRule;
  readonly ruleIndex: number;
  /** The PathPrefix value that matched (normalised: no trailing "/" except for "/"), for ReplacePrefixMatch. */
  readonly matchedPrefix: string | undefined;
}

type ValueTest = (v: string) => boolean;

interface Entry {
  readonly route: HttpRoute;
  readonly rule: HttpRouteRule;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly pathRank: number; // 3 Exact, 2 RegularExpression, 1 PathPrefix
  readonly pathLen: number;
  readonly path: (p: string) => boolean;
  readonly prefix: string | undefined;
  readonly method: string | undefined;
  readonly headers: readonly (readonly [string, ValueTest])[];
  readonly query: readonly (readonly [string, ValueTest])[];
  /** What match() returns for this entry (built once). */
  readonly result: RouteMatchResult;
}

function invalid(route: HttpRoute, what: string): never {
  throw new MeshletError("CONFIG_INVALID", `route "${route.name}": ${what}`);
}

function regex(route: HttpRoute, src: string): RegExp {
  try {
    return new RegExp(`^(?:${src})$`);
  } catch (e) {
    return invalid(route, `invalid regular expression ${JSON.stringify(src)}: ${(e as Error).message}`);
  }
}

function valueTest(route: HttpRoute, type: "Exact" | "RegularExpression" | undefined, value: string): ValueTest {
  if (type === "RegularExpression") {
    const re = regex(route, value);
    return (v) => re.test(v);
  }
  return (v) => v === value;
}

/** "/foo/" -> "/foo"; "/" stays. */
export function normalisePrefix(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

/** Segment-wise prefix test: "/foo" matches "/foo" and "/foo/bar", not "/foobar". */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/") return true;
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f);
}

function entry(route: HttpRoute, rule: HttpRouteRule, ruleIndex: number, m: HttpRouteMatch, matchIndex: number): Entry {
  const pm = m.path ?? { type: "PathPrefix" as const, value: "/" };
  let path: (p: string) => boolean;
  let pathRank: number;
  let prefix: string | undefined;
  let pathLen = pm.value.length;
  if (pm.type === "Exact") {
    const v = pm.value;
    path = (p) => p === v;
    pathRank = 3;
  } else if (pm.type === "RegularExpression") {
    const re = regex(route, pm.value);
    path = (p) => re.test(p);
    pathRank = 2;
  } else {
    if (!pm.value.startsWith("/")) invalid(route, `PathPrefix ${JSON.stringify(pm.value)} must start with "/"`);
    const v = normalisePrefix(pm.value);
    prefix = v;
    pathLen = v.length;
    path = (p) => prefixMatches(v, p);
    pathRank = 1;
  }
  // Only the first entry of a repeated header / query name counts (Gateway API).
  const headers: (readonly [string, ValueTest])[] = [];
  const hseen = new Set<string>();
  for (const h of m.headers ?? []) {
    const n = h.name.toLowerCase();
    if (hseen.has(n)) continue;
    hseen.add(n);
    headers.push([n, valueTest(route, h.type, h.value)]);
  }
  const query: (readonly [string, ValueTest])[] = [];
  const qseen = new Set<string>();
  for (const q of m.queryParams ?? []) {
    if (qseen.has(q.name)) continue;
    qseen.add(q.name);
    query.push([q.name, valueTest(route, q.type, q.value)]);
  }
  const method = m.method === undefined ? undefined : m.method.toUpperCase();
  const result: RouteMatchResult = { route, rule, ruleIndex, matchedPrefix: prefix };
  return { route, rule, ruleIndex, matchIndex, pathRank, pathLen, path, prefix, method, headers, query, result };
}

function checkRule(route: HttpRoute, rule: HttpRouteRule): void {
  const matches = rule.matches ?? [];
  const allPrefix = matches.length === 0 || matches.every((m) => m.path === undefined || m.path.type === "PathPrefix");
  for (const f of rule.filters ?? []) {
    const mod = f.type === "RequestRedirect" ? f.requestRedirect.path : f.type === "URLRewrite" ? f.urlRewrite.path : undefined;
    if (mod?.type === "ReplacePrefixMatch" && !allPrefix) {
      invalid(route, "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match");
    }
  }
}

/** Precedence order: negative when `a` wins over `b`. */
function comparePrecedence(a: Entry, b: Entry): number {
  return (
    b.pathRank - a.pathRank ||
    b.pathLen - a.pathLen ||
    (b.method !== undefined ? 1 : 0) - (a.method !== undefined ? 1 : 0) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    age(a.route) - age(b.route) ||
    (a.route.name < b.route.name ? -1 : a.route.name > b.route.name ? 1 : 0) ||
    a.ruleIndex - b.ruleIndex ||
    a.matchIndex - b.matchIndex
  );
}
/** Creation order; routes without one count as newer than any that has one. */
function age(r: HttpRoute): number {
  return r.createdAt ?? Number.MAX_SAFE_INTEGER;
}

/** Already a lower-case host without userinfo, port, brackets or trailing dot (the common case): no copy needed. */
function isPlainLowerHost(a: string): boolean {
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if ((c >= 0x41 && c <= 0x5a) || c === 0x3a /* : */ || c === 0x40 /* @ */ || c === 0x5b /* [ */) return false;
  }
  return a.length > 0 && a.charCodeAt(a.length - 1) !== 0x2e /* . */;
}

/** Lower-case host without port, brackets kept for IPv6, trailing dot dropped. */
export function hostOf(authority: string): string {
  if (isPlainLowerHost(authority)) return authority;
  let h = authority;
  const at = h.lastIndexOf("@");
  if (at >= 0) h = h.slice(at + 1);
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    h = end >= 0 ? h.slice(0, end + 1) : h;
  } else {
    const colon = h.indexOf(":");
    if (colon >= 0) h = h.slice(0, colon);
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h.toLowerCase();
}

/** The first value of each query parameter, parsed once per request and only if an entry looks at the query. */
function parseQuery(raw: string): Map<string, string> {
  const map = new Map<string, string>();
  if (raw !== "") for (const [k, v] of new URLSearchParams(raw)) if (!map.has(k)) map.set(k, v);
  return map;
}

/** Every field of a header joined by "," (one field: its value, without allocating); undefined if absent. */
function headerValue(headers: HeaderList, lowerName: string): string | undefined {
  const first = getHeader(headers, lowerName);
  if (first === undefined) return undefined;
  const all = getHeaderAll(headers, lowerName);
  return all.length === 1 ? first : all.join(",");
}

/** Per-request match state: the query map is built on first use. */
interface MatchState {
  query: Map<string, string> | undefined;
}

function entryMatches(e: Entry, req: MatchRequest, st: MatchState): boolean {
  if (!e.path(req.path)) return false;
  if (e.method !== undefined && e.method !== req.method) return false;
  for (const [name, test] of e.headers) {
    const v = headerValue(req.headers, name);
    if (v === undefined || !test(v)) return false;
  }
  if (e.query.length > 0) {
    const q = (st.query ??= parseQuery(req.query));
    for (const [name, test] of e.query) {
      const v = q.get(name);
      if (v === undefined || !test(v)) return false;
    }
  }
  return true;
}

export class RouteTable {
  private readonly exact = new Map<string, Entry[]>();
  /** Keyed by suffix with the leading dot: "*.example.com" -> ".example.com". */
  private readonly wildcard = new Map<string, Entry[]>();
  private readonly any: Entry[] = [];
  private readonly longestWildcard: number;

  constructor(routes: readonly HttpRoute[]) {
    let longest = 0;
    for (const route of routes) {
      const entries: Entry[] = [];
      route.rules.forEach((rule, ri) => {
        checkRule(route, rule);
        const ms = rule.matches !== undefined && rule.matches.length > 0 ? rule.matches : [{}];
        ms.forEach((m, mi) => entries.push(entry(route, rule, ri, m, mi)));
      });
      if (route.hostnames.length === 0) this.any.push(...entries);
      for (const raw of new Set(route.hostnames.map((h) => h.toLowerCase()))) {
        if (raw.startsWith("*.")) {
          const suffix = raw.slice(1);
          if (suffix.includes("*")) invalid(route, `bad hostname ${JSON.stringify(raw)}`);
          push(this.wildcard, suffix, entries);
          longest = Math.max(longest, suffix.length);
        } else {
          if (raw.includes("*") || raw === "") invalid(route, `bad hostname ${JSON.stringify(raw)}`);
          push(this.exact, raw, entries);
        }
      }
    }
    this.longestWildcard = longest;
    for (const list of this.exact.values()) list.sort(comparePrecedence);
    for (const list of this.wildcard.values()) list.sort(comparePrecedence);
    this.any.sort(comparePrecedence);
  }

  /** The winning match; methods compare case-sensitively (RFC 9110: "get" is not GET). */
  match(req: MatchRequest): RouteMatchResult | undefined {
    const host = hostOf(req.authority);
    const st: MatchState = { query: undefined };
    const hit = firstMatch(this.exact.get(host), req, st);
    if (hit !== undefined) return hit;
    if (this.wildcard.size > 0) {
      // Suffixes ".b.example.com", ".example.com", ".com", longest first; a wildcard needs at least one label.
      for (let i = host.indexOf("."); i > 0; i = host.indexOf(".", i + 1)) {
        if (host.length - i > this.longestWildcard) continue;
        const w = firstMatch(this.wildcard.get(host.slice(i)), req, st);
        if (w !== undefined) return w;
      }
    }
    return firstMatch(this.any, req, st);
  }
}

function firstMatch(list: Entry[] | undefined, req: MatchRequest, st: MatchState): RouteMatchResult | undefined {
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (entryMatches(e, req, st)) return e.result;
  }
  return undefined;
}

function push(map: Map<string, Entry[]>, key: string, entries: Entry[]): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [...entries]);
  else list.push(...entries);
}

/** Compile validated routes; throws MeshletError CONFIG_INVALID for a bad regex, hostname or ReplacePrefixMatch. */
export function compileRoutes(routes: readonly HttpRoute[]): RouteTable {
  return new RouteTable(routes);
}

/** Split a request target into path and query; absolute-form targets also yield their authority. */
export function splitTarget(target: string): { path: string; query: string; authority: string | undefined } {
  let authority: string | undefined;
  let rest = target;
  if (!rest.startsWith("/")) {
    const scheme = rest.indexOf("://");
    if (scheme > 0) {
      const start = scheme + 3;
      let end = rest.length;
      for (const c of ["/", "?"]) {
        const i = rest.indexOf(c, start);
        if (i >= 0 && i < end) end = i;
      }
      authority = rest.slice(start, end);
      rest = rest.slice(end);
      if (!rest.startsWith("/")) rest = "/" + rest;
    }
  }
  const qi = rest.indexOf("?");
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  return qi >= 0 && (hash < 0 || qi < hash)
    ? { path: rest.slice(0, qi), query: rest.slice(qi + 1), authority }
    : { path: rest, query: "", authority };
}
