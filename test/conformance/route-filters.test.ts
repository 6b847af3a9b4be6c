// HTTPRoute matching and filters, end to end: Gateway API precedence (Exact, longest PathPrefix, RegularExpression,
// header, method and query matches), a route's own hostnames, routes on a service's own listener, unmatched
// requests on the service's default route; RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect and
// URLRewrite; GET /config shows the normalized routes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as h from "./harness.ts";

describe(`routes and filters [${h.runtime}]`, { timeout: 60_000 }, () => {
  let up: h.ScriptedUpstream, proxy: h.ProxyProcess | undefined;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const tag = (value: string) => ({ type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-rule", value }] } });
  const prefix = (value: string) => ({ path: { type: "PathPrefix", value } });

  before(async () => {
    up = await h.startScriptedUpstream();
    up.behave = (r) => (r.url.startsWith("/hdr") ? { headers: { "x-resp-set": "old", "x-resp-drop": "gone", "x-resp-add": "orig" } } : {});
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "web", hostnames: ["web", "web.test"], endpoints: [up.addr] },
          { name: "svc", hostnames: [], endpoints: [up.addr], listen: { port: 0, protocol: "detect" } },
        ],
        overrides: {
          accessLog: { enabled: false },
          routes: [
            {
              name: "match",
              parentRefs: [{ name: "web" }],
              rules: [
                { matches: [{ path: { type: "Exact", value: "/p/exact" } }], filters: [tag("exact")] },
                { matches: [prefix("/p")], filters: [tag("prefix-short")] },
                { matches: [prefix("/p/longer")], filters: [tag("prefix-long")] },
                { matches: [{ ...prefix("/h"), headers: [{ name: "x-canary", value: "1" }] }], filters: [tag("header")] },
                { matches: [prefix("/h")], filters: [tag("h-plain")] },
                { matches: [{ ...prefix("/m"), method: "POST" }], filters: [tag("post")] },
                { matches: [{ ...prefix("/q"), queryParams: [{ name: "v", value: "2" }] }], filters: [tag("query")] },
                { matches: [{ path: { type: "RegularExpression", value: "/re/[0-9]+" } }], filters: [tag("regex")] },
              ],
            },
            {
              name: "filters",
              parentRefs: [{ name: "web" }],
              rules: [
                {
                  matches: [prefix("/hdr")],
                  filters: [
                    { type: "RequestHeaderModifier", requestHeaderModifier: { set: [{ name: "x-set", value: "new" }], add: [{ name: "x-add", value: "added" }], remove: ["x-drop"] } },
                    { type: "ResponseHeaderModifier", responseHeaderModifier: { set: [{ name: "x-resp-set", value: "new" }], add: [{ name: "x-resp-add", value: "more" }], remove: ["x-resp-drop"] } },
                  ],
                },
                {
                  matches: [prefix("/old")],
                  filters: [{ type: "RequestRedirect", requestRedirect: { hostname: "new.example", port: 8080, path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/new" }, statusCode: 301 } }],
                },
                { matches: [prefix("/moved")], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] },
                { matches: [prefix("/full")], filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplaceFullPath", replaceFullPath: "/rewritten" } } }] },
                {
                  matches: [prefix("/api")],
                  filters: [{ type: "URLRewrite", urlRewrite: { hostname: "backend.internal", path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } }],
                },
              ],
            },
            { name: "alias", parentRefs: [{ name: "web" }], hostnames: ["alias.example"], rules: [{ matches: [prefix("/alias")], filters: [tag("alias")] }] },
            { name: "on-listener", parentRefs: [{ name: "svc" }], rules: [{ filters: [tag("listener")] }] },
          ],
        },
      }),
    );
  });
  after(async () => {
    await proxy?.stop();
    await up?.close();
  });

  /** What the upstream saw for a request through the proxy. */
  const seen = async (path: string, opts: { host?: string; method?: string; headers?: Record<string, string>; port?: number } = {}) => {
    const r = await h.httpRequest({ port: opts.port ?? proxy!.outbound, host: opts.host ?? "web", path, method: opts.method ?? "GET", headers: opts.headers ?? {} });
    assert.equal(r.status, 200, `${path}: ${r.status} ${r.body.toString().slice(0, 200)}`);
    return { res: r, req: JSON.parse(r.body.toString()) as { url: string; headers: Record<string, string | string[]> } };
  };
  const ruleOf = async (path: string, opts: Parameters<typeof seen>[1] = {}) => (await seen(path, opts)).req.headers["x-rule"];

  t("path matches: Exact before PathPrefix, the longest prefix wins, prefixes match whole segments, regex", async () => {
    assert.equal(await ruleOf("/p/exact"), "exact");
    assert.equal(await ruleOf("/p/exactly"), "prefix-short");
    assert.equal(await ruleOf("/p/exact/more"), "prefix-short");
    assert.equal(await ruleOf("/p/longer/x?y=1"), "prefix-long");
    assert.equal(await ruleOf("/p"), "prefix-short");
    assert.equal(await ruleOf("/re/123"), "regex");
    assert.equal(await ruleOf("/re/12a"), undefined, "a regex matches the whole path");
    assert.equal(await ruleOf("/pp"), undefined, "/p does not match /pp");
  });

  t("header, method and query matches", async () => {
    assert.equal(await ruleOf("/h/1", { headers: { "x-canary": "1" } }), "header");
    assert.equal(await ruleOf("/h/1", { headers: { "x-canary": "0" } }), "h-plain");
    assert.equal(await ruleOf("/h/1"), "h-plain");
    assert.equal(await ruleOf("/m/1", { method: "POST" }), "post");
    assert.equal(await ruleOf("/m/1"), undefined);
    assert.equal(await ruleOf("/q/1?a=1&v=2"), "query");
    assert.equal(await ruleOf("/q/1?v=3"), undefined);
  });

  t("a route applies to its parent's hostnames and its own; the default route takes the rest", async () => {
    assert.equal(await ruleOf("/p/exact", { host: "web.test:8080" }), "exact");
    assert.equal(await ruleOf("/alias/1", { host: "alias.example" }), "alias");
    assert.equal(await ruleOf("/alias/1"), "alias", "the parent's hostnames too");
    const other = await h.httpRequest({ port: proxy!.outbound, host: "alias.example", path: "/other" });
    assert.equal(other.status, 404, "alias.example routes only what the alias route matches");
    assert.equal(other.headers["x-meshlet-error"], "no-route");
    assert.equal(await ruleOf("/unmatched"), undefined);
  });

  t("a route attached to a service applies on that service's own listener, whatever the Host", async () => {
    assert.equal(await ruleOf("/anything", { host: "whatever.example", port: proxy!.port("service:svc") }), "listener");
  });

  t("RequestHeaderModifier and ResponseHeaderModifier set, add and remove headers", async () => {
    const { res, req } = await seen("/hdr/1", { headers: { "x-set": "old", "x-drop": "bye", "x-add": "first", "x-keep": "kept" } });
    assert.equal(req.headers["x-set"], "new");
    assert.equal(req.headers["x-drop"], undefined);
    assert.equal(req.headers["x-add"], "first, added");
    assert.equal(req.headers["x-keep"], "kept");
    assert.equal(res.headers["x-resp-set"], "new");
    assert.equal(res.headers["x-resp-drop"], undefined);
    assert.equal(res.headers["x-resp-add"], "orig, more");
    assert.equal(res.headers["x-upstream"], String(up.port));
  });

  t("RequestRedirect answers the redirect itself", async () => {
    const before = up.requests.length;
    const r = await h.curl(["-H", "Host: web", `http://127.0.0.1:${proxy!.outbound}/old/x/y?q=1`]);
    assert.equal(r.status, 301);
    assert.equal(h.header(r, "location"), "http://new.example:8080/new/x/y?q=1");
    const s = await h.curl(["-H", "Host: web:8000", `http://127.0.0.1:${proxy!.outbound}/moved/z`]);
    assert.equal(s.status, 302);
    assert.equal(h.header(s, "location"), "https://web/moved/z");
    assert.equal(up.requests.length, before, "a redirect reached the upstream");
  });

  t("URLRewrite replaces the full path or the matched prefix, and the host", async () => {
    assert.equal((await seen("/full/a/b?q=1")).req.url, "/rewritten?q=1");
    const api = await seen("/api/users?id=3");
    assert.equal(api.req.url, "/v2/users?id=3");
    assert.equal(api.req.headers.host, "backend.internal");
    assert.equal((await seen("/api")).req.url, "/v2");
    assert.equal((await seen("/full")).req.headers.host, "web", "Host is kept without a hostname rewrite");
  });

  t("GET /config shows the normalized routes", async () => {
    const cfg = await h.adminJson(proxy!, "/config");
    assert.deepEqual(cfg.routes.map((r: { name: string }) => r.name), ["match", "filters", "alias", "on-listener"]);
    const alias = cfg.routes[2];
    assert.deepEqual(alias.parentRefs, ["web"]);
    assert.deepEqual(alias.hostnames, ["alias.example"]);
    assert.deepEqual(alias.rules[0].timeouts, { requestMs: 0, backendRequestMs: 0, idleMs: 0 });
    assert.equal(alias.rules[0].retry, null);
  });
});
