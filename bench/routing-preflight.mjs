// Static check of the routing benchmark's config against the code under test (bench/routing.sh runs it before
// the harness): the config parses, and the engine's own routing table (core/proxy/routes.ts, loaded from the
// snapshot's .ts sources through tsx) sends the measured request `GET /hello`, Host 127.0.0.1:PORT, to route
// "bench-hello" -> service "bench" with a PeakEWMA balancer over every configured endpoint, after trying the
// expected number of higher-precedence match entries. Other requests check that the header, method and regex
// matches in front of it are live (they would win if the request carried what they test).
//
// Usage: node_modules/.bin/tsx bench/routing-preflight.mjs SRC_DIR CONFIG_JSON   (exit 1 on any mismatch)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [src, file] = process.argv.slice(2);
if (!src || !file) {
  process.stderr.write("usage: tsx bench/routing-preflight.mjs SRC_DIR CONFIG_JSON\n");
  process.exit(2);
}
const load = (p) => import(pathToFileURL(join(src, p)).href);
const { parseConfig } = await load("core/config/parse.ts");
const { TrafficTable } = await load("core/proxy/routes.ts");
const { MetricsStore } = await load("core/telemetry/metrics.ts");

const parsed = parseConfig(JSON.parse(readFileSync(file, "utf8")));
if (!parsed.ok) {
  process.stderr.write(`preflight: config invalid: ${JSON.stringify(parsed.issues ?? parsed).slice(0, 2000)}\n`);
  process.exit(1);
}
const config = parsed.config ?? parsed.value;
const table = new TrafficTable(config, null, { random: Math.random, now: 0, metrics: new MetricsStore() });
const port = config.outbound.port;
const authority = `127.0.0.1:${port}`;

let failed = 0;
const lines = [];
function expect(what, ok, detail) {
  lines.push(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed++;
}
function route(req) {
  const r = { authority, method: "GET", path: "/hello", query: "", headers: ["host", authority], ...req };
  const hit = table.route(null, r);
  if (hit === undefined) return { route: undefined, service: undefined };
  return { route: hit.policy.routeName, service: hit.policy.pickBackend(() => 0.5) };
}

const bench = config.services.find((s) => s.name === "bench");
expect(`${config.routes.length} routes, ${config.services.length} services`, config.routes.length >= 3);
const sizes = config.services.map((s) => s.endpoints.length);
expect(`every service has ${bench.endpoints.length} endpoints`, sizes.every((n) => n === bench.endpoints.length), sizes.join(","));
const keys = new Set(bench.endpoints.map((e) => `${e.host}:${e.port}`));
expect("bench's endpoints are distinct", keys.size === bench.endpoints.length, `${keys.size}`);
expect("bench is balanced by peak-ewma (the default)", bench.balancer.kind === "peak-ewma", bench.balancer.kind);
const backend = table.byName("bench");
expect("the engine's bench backend holds every endpoint", backend.endpoints.length === bench.endpoints.length);

const m = route({});
expect("GET /hello -> route bench-hello, service bench", m.route === "bench-hello" && m.service === "bench", `${m.route} -> ${m.service}`);

// Entries tried before the hit: the outbound table's bucket for the request's host, in precedence order.
// (Private fields, read for this check only.)
const bucket = table.outbound?.exact?.get("127.0.0.1");
if (Array.isArray(bucket)) {
  const idx = bucket.findIndex((e) => e.route.name === "bench-hello" && e.headers.length === 0 && e.method === undefined);
  lines.push(`     host bucket "127.0.0.1": ${bucket.length} match entries; the hit is entry ${idx + 1} (${idx} tried before it: ` +
    bucket.slice(0, idx).map((e) => `${e.prefix ?? (e.pathRank === 3 ? "Exact" : "Regex")}${e.method ? "+" + e.method : ""}${e.headers.length ? "+hdr" : ""}`).join(", ") + ")");
  expect("at least 8 entries precede the hit", idx >= 8, String(idx));
} else lines.push("     (route table internals not readable; entry count not checked)");

const checks = [
  [{ method: "POST" }, "bench-hello", "POST /hello (method match)"],
  [{ headers: ["host", authority, "x-tenant", "gold"] }, "bench-hello", "x-tenant: gold (header match)"],
  [{ path: "/hello/42" }, "bench-api", "/hello/42 (RegularExpression)"],
  [{ path: "/api/v2/x", headers: ["host", authority, "x-canary", "true"] }, "bench-api", "/api/v2 + x-canary"],
  [{ path: "/16k" }, "bench-default", "/16k (PathPrefix /)"],
];
// A route of the other services, by its own hostname (exact and wildcard), on its first rule's path.
for (const r of [config.routes.find((x) => x.name === "route-017"), config.routes.find((x) => x.name === "route-020")]) {
  if (r === undefined) continue;
  const h = r.hostnames[0];
  const p = r.rules[0].matches?.[0]?.path?.value ?? "/";
  checks.push([{ authority: h.startsWith("*.") ? "a" + h.slice(1) : h, path: p + "/1" }, r.name, `host ${h} selects ${r.name}`]);
}
for (const [req, want, what] of checks) {
  const r = route(req);
  const svcOk = what.includes("match") || what.includes("Regular") || what.includes("canary") ? r.service !== "bench" : true;
  expect(what, r.route === want && svcOk, `${r.route} -> ${r.service}`);
}

process.stdout.write(lines.join("\n") + "\n");
if (failed) {
  process.stderr.write(`preflight: ${failed} check(s) failed\n`);
  process.exit(1);
}
