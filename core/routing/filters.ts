// Route filters: header modifiers, RequestRedirect and URLRewrite (Gateway API HTTPRoute semantics).

import type { HeaderList } from "../http1/types.ts";
import { normalisePrefix } from "./match.ts";
import type { HeaderModifier, HttpPathModifier, RequestRedirect, UrlRewrite } from "./types.ts";

/**
 * A new header list with `mod` applied, in this order: remove (every field of each name), set (the first field of
 * the name takes the value, later ones are dropped; appended when absent), add (appended as a new field).
 * Names match case-insensitively; the input list is not modified.
 */
export function applyHeaderModifier(headers: HeaderList, mod: HeaderModifier): HeaderList {
  const remove = new Set((mod.remove ?? []).map((n) => n.toLowerCase()));
  const set = new Map<string, { name: string; value: string; done: boolean }>();
  for (const h of mod.set ?? []) set.set(h.name.toLowerCase(), { name: h.name, value: h.value, done: false });
  const out: HeaderList = [];
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    const l = n.toLowerCase();
    if (remove.has(l)) continue;
    const s = set.get(l);
    if (s !== undefined) {
      if (!s.done) {
        out.push(n, s.value);
        s.done = true;
      }
      continue;
    }
    out.push(n, headers[i + 1]!);
  }
  for (const s of set.values()) if (!s.done) out.push(s.name, s.value);
  for (const h of mod.add ?? []) out.push(h.name, h.value);
  return out;
}

/**
 * The path after a path modifier. ReplacePrefixMatch replaces only the matched prefix, segment-wise, as in the
 * Gateway API table: prefix "/foo", replacement "/xyz": "/foo/bar" -> "/xyz/bar", "/foo" -> "/xyz",
 * "/foo/" -> "/xyz/"; replacement "/": "/foo/bar" -> "/bar", "/foo" -> "/".
 */
export function modifyPath(path: string, mod: HttpPathModifier, matchedPrefix: string | undefined): string {
  if (mod.type === "ReplaceFullPath") return mod.replaceFullPath;
  if (matchedPrefix === undefined) return path; // compileRoutes rejects this configuration
  const p = matchedPrefix === "/" ? "" : normalisePrefix(matchedPrefix);
  const rest = path.slice(p.length);
  const r = mod.replacePrefixMatch.endsWith("/") ? mod.replacePrefixMatch.slice(0, -1) : mod.replacePrefixMatch;
  let out = r + rest;
  if (!out.startsWith("/")) out = "/" + out;
  return out;
}

/** What the filters need to know about the request. */
export interface FilterRequest {
  /** "http" or "https": how the request reached the proxy. */
  readonly scheme: "http" | "https";
  /** The Host header / authority as received (port allowed). */
  readonly authority: string;
  readonly path: string;
  /** The query without "?", "" if none. */
  readonly query: string;
  /** From RouteMatchResult.matchedPrefix. */
  readonly matchedPrefix: string | undefined;
}

function splitAuthority(authority: string): { host: string; port: number | undefined } {
  const a = authority.slice(authority.lastIndexOf("@") + 1);
  const close = a.startsWith("[") ? a.indexOf("]") : -1;
  const colon = a.indexOf(":", close + 1);
  if (colon < 0) return { host: a, port: undefined };
  const port = Number(a.slice(colon + 1));
  return { host: a.slice(0, colon), port: Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined };
}

const DEFAULT_PORT = { http: 80, https: 443 } as const;

/**
 * The redirect response: status (302 unless 301 is configured) and Location, an absolute URL. Unset fields come from
 * the request. The port: the configured one; else, when the scheme is changed, the scheme's well-known port; else the
 * request's port. A port equal to the scheme's default is left out of Location. The query is kept.
 */
export function redirectResponse(req: FilterRequest, r: RequestRedirect): { status: 301 | 302; location: string } {
  const from = splitAuthority(req.authority);
  const scheme = r.scheme ?? req.scheme;
  const host = r.hostname ?? from.host;
  const port = r.port ?? (r.scheme !== undefined ? DEFAULT_PORT[scheme] : from.port ?? DEFAULT_PORT[req.scheme]);
  const path = r.path === undefined ? req.path : modifyPath(req.path, r.path, req.matchedPrefix);
  const hostPort = port === DEFAULT_PORT[scheme] ? host : `${host}:${port}`;
  const query = req.query === "" ? "" : `?${req.query}`;
  return { status: r.statusCode ?? 302, location: `${scheme}://${hostPort}${path}${query}` };
}

/** URLRewrite: the new origin-form target (query kept) and, when rewritten, the new Host value (else undefined). */
export function rewriteRequest(req: FilterRequest, r: UrlRewrite): { target: string; host: string | undefined } {
  const path = r.path === undefined ? req.path : modifyPath(req.path, r.path, req.matchedPrefix);
  return { target: req.query === "" ? path : `${path}?${req.query}`, host: r.hostname };
}
