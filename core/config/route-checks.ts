// Checks on routes[] across fields and sections. Together with the schema they reject everything compileRoutes
// (core/routing/match.ts) would throw on, so a config that parses always compiles:
//   - route names are unique; parentRefs and backendRefs name configured services (a parent only once);
//   - each filter type appears at most once per rule; RequestRedirect excludes URLRewrite and backendRefs;
//   - ReplacePrefixMatch needs every match of its rule to be a PathPrefix match (no matches = PathPrefix "/");
//   - regular expressions (path, header, query) compile, exactly as compileRoutes compiles them;
//   - a rule without backendRefs (which forwards to the route's parent) needs a route with exactly one parent.
// Like checks.ts they run on the partially parsed file and look only at values of the right type.

import type { CrossIssue, PathKey } from "./checks.ts";

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === "string" ? x : undefined);
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

/** "" when `src` compiles as compileRoutes compiles it (anchored, no flags), else the engine's error message. */
export function regexError(src: string): string {
  try {
    // Alone first (so "a)|(b" cannot close the anchoring group), then as compileRoutes builds it.
    new RegExp(src);
    new RegExp(`^(?:${src})$`);
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

/** Checks routes[] and grpcRoutes[] (route names are unique across both: they label the same metrics). */
export function routeChecks(root: Obj, serviceNames: ReadonlySet<string>): CrossIssue[] {
  const nameAt = new Map<string, string>();
  return [...checkRoutes(root, serviceNames, "routes", nameAt), ...checkRoutes(root, serviceNames, "grpcRoutes", nameAt)];
}

function checkRoutes(root: Obj, serviceNames: ReadonlySet<string>, key: "routes" | "grpcRoutes", nameAt: Map<string, string>): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const routes = arr(root[key]);
  const known = [...serviceNames];
  const notAService = (name: string) =>
    `expected the name of a configured service (${known.length ? known.map((n) => `"${n}"`).join(", ") : "none configured"}), received "${name}"`;

  routes.forEach((route, i) => {
    if (!isObj(route)) return;
    const at = (...keys: PathKey[]): PathKey[] => [key, i, ...keys];
    const name = str(route.name);
    if (name !== undefined) {
      const first = nameAt.get(name);
      if (first === undefined) nameAt.set(name, `${key}[${i}]`);
      else issues.push({ path: at("name"), message: `duplicate route name "${name}" (also ${first})` });
    }

    const parents = arr(route.parentRefs);
    const parentAt = new Map<string, number>();
    parents.forEach((p, k) => {
      const parent = isObj(p) ? str(p.name) : undefined;
      if (parent === undefined) return;
      if (!serviceNames.has(parent)) issues.push({ path: at("parentRefs", k, "name"), message: notAService(parent) });
      const first = parentAt.get(parent);
      if (first === undefined) parentAt.set(parent, k);
      else issues.push({ path: at("parentRefs", k, "name"), message: `parent "${parent}" is listed twice (also parentRefs[${first}])` });
    });

    arr(route.rules).forEach((rule, r) => {
      if (!isObj(rule)) return;
      const ruleAt = (...keys: PathKey[]) => at("rules", r, ...keys);
      const matches = arr(rule.matches);
      const backends = arr(rule.backendRefs);

      backends.forEach((b, k) => {
        const backend = isObj(b) ? str(b.name) : undefined;
        if (backend !== undefined && !serviceNames.has(backend)) issues.push({ path: ruleAt("backendRefs", k, "name"), message: notAService(backend) });
      });

      // Regular expressions, compiled exactly as compileRoutes compiles them.
      matches.forEach((m, j) => {
        if (!isObj(m)) return;
        const checkRegex = (holder: unknown, path: PathKey[]) => {
          if (!isObj(holder) || holder.type !== "RegularExpression" || typeof holder.value !== "string") return;
          const err = regexError(holder.value);
          if (err) issues.push({ path, message: `expected a regular expression, received ${JSON.stringify(holder.value)} (${err})` });
        };
        checkRegex(m.path, ruleAt("matches", j, "path", "value"));
        const gm = m.method;
        if (isObj(gm) && gm.type === "RegularExpression") {
          for (const field of ["service", "method"] as const) {
            if (typeof gm[field] === "string") checkRegex({ type: "RegularExpression", value: gm[field] }, ruleAt("matches", j, "method", field));
          }
        }
        arr(m.headers).forEach((h, k) => checkRegex(h, ruleAt("matches", j, "headers", k, "value")));
        arr(m.queryParams).forEach((q, k) => checkRegex(q, ruleAt("matches", j, "queryParams", k, "value")));
      });

      // Filters.
      const typeAt = new Map<string, number>();
      const nonPrefix = matches.findIndex((m) => isObj(m) && isObj(m.path) && m.path.type !== undefined && m.path.type !== "PathPrefix");
      arr(rule.filters).forEach((f, k) => {
        if (!isObj(f)) return;
        const type = str(f.type);
        if (type === undefined) return;
        const first = typeAt.get(type);
        if (first === undefined) typeAt.set(type, k);
        else issues.push({ path: ruleAt("filters", k, "type"), message: `a rule may have one ${type} filter (also filters[${first}])` });
        if (type === "URLRewrite" && typeAt.has("RequestRedirect")) {
          issues.push({ path: ruleAt("filters", k, "type"), message: `a rule cannot have both RequestRedirect (filters[${typeAt.get("RequestRedirect")}]) and URLRewrite` });
        }
        if (type === "RequestRedirect" && typeAt.has("URLRewrite")) {
          issues.push({ path: ruleAt("filters", k, "type"), message: `a rule cannot have both URLRewrite (filters[${typeAt.get("URLRewrite")}]) and RequestRedirect` });
        }
        const key = type === "RequestRedirect" ? "requestRedirect" : type === "URLRewrite" ? "urlRewrite" : undefined;
        const body = key === undefined ? undefined : f[key];
        if (key !== undefined && isObj(body) && isObj(body.path) && body.path.type === "ReplacePrefixMatch" && nonPrefix >= 0) {
          const m = matches[nonPrefix] as Obj;
          issues.push({
            path: ruleAt("filters", k, key, "path", "type"),
            message: `ReplacePrefixMatch needs every match of the rule to be a PathPrefix match (matches[${nonPrefix}] is ${String((m.path as Obj).type)})`,
          });
        }
      });

      const redirects = typeAt.has("RequestRedirect");
      if (redirects && backends.length > 0) {
        issues.push({
          path: ruleAt("backendRefs"),
          message: "a rule with a RequestRedirect filter answers the redirect itself; it cannot have backendRefs",
        });
      }
      // No parents at all is reported by the schema already.
      if (!redirects && backends.length === 0 && parents.length > 1) {
        issues.push({
          path: ruleAt("backendRefs"),
          message: `a rule without backendRefs forwards to the route's parent service, so the route needs exactly one parentRef (it has ${parents.length})`,
        });
      }
    });
  });
  return issues;
}
