// Route matching: Gateway API precedence, segment-wise prefixes, regex/header/query/method, hostnames.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compileRoutes, hostOf, prefixMatches, splitTarget, type MatchRequest } from "../../../core/routing/match.ts";
import type { HttpRoute, HttpRouteMatch } from "../../../core/routing/types.ts";
import { isMeshletError } from "../../../core/errors.ts";

function req(path: string, o: Partial<MatchRequest> = {}): MatchRequest {
  const qi = path.indexOf("?");
  return {
    authority: o.authority ?? "svc.example.com",
    method: o.method ?? "GET",
    path: qi >= 0 ? path.slice(0, qi) : path,
    query: qi >= 0 ? path.slice(qi + 1) : "",
    headers: o.headers ?? [],
  };
}

/** One route per match, named after its label, so the winner is visible by name. */
function routes(matches: Record<string, HttpRouteMatch>, hostnames: string[] = []): HttpRoute[] {
  return Object.entries(matches).map(([name, m]) => ({
    name,
    hostnames,
    rules: [{ matches: [m], backendRefs: [{ name }] }],
  }));
}

function winner(rs: HttpRoute[], r: MatchRequest): string | undefined {
  return compileRoutes(rs).match(r)?.route.name;
}

describe("precedence (Gateway API)", () => {
  const cases: [string, Record<string, HttpRouteMatch>, MatchRequest, string][] = [
    [
      "Exact path over PathPrefix",
      { z_prefix: { path: { type: "PathPrefix", value: "/foo" } }, exact: { path: { type: "Exact", value: "/foo" } } },
      req("/foo"),
      "exact",
    ],
    [
      "longer PathPrefix first",
      { a_short: { path: { type: "PathPrefix", value: "/foo" } }, long: { path: { type: "PathPrefix", value: "/foo/bar" } } },
      req("/foo/bar/baz"),
      "long",
    ],
    [
      "trailing slash does not make a prefix longer",
      { a: { path: { type: "PathPrefix", value: "/foo/" } }, b: { path: { type: "PathPrefix", value: "/foo" } } },
      req("/foo/x"),
      "a",
    ],
    [
      "method match present wins at equal path",
      { a_plain: { path: { type: "PathPrefix", value: "/" } }, method: { path: { type: "PathPrefix", value: "/" }, method: "GET" } },
      req("/x"),
      "method",
    ],
    [
      "path beats method",
      { a_method: { method: "GET" }, path: { path: { type: "PathPrefix", value: "/x" } } },
      req("/x"),
      "path",
    ],
    [
      "more header matches win",
      {
        a_one: { headers: [{ name: "a", value: "1" }] },
        two: { headers: [{ name: "a", value: "1" }, { name: "b", value: "2" }] },
      },
      req("/", { headers: ["A", "1", "b", "2"] }),
      "two",
    ],
    [
      "method beats headers",
      { a_headers: { headers: [{ name: "a", value: "1" }] }, method: { method: "GET" } },
      req("/", { headers: ["a", "1"] }),
      "method",
    ],
    [
      "more query param matches win",
      {
        a_one: { queryParams: [{ name: "x", value: "1" }] },
        two: { queryParams: [{ name: "x", value: "1" }, { name: "y", value: "2" }] },
      },
      req("/?x=1&y=2"),
      "two",
    ],
    [
      "headers beat query params",
      {
        a_query: { queryParams: [{ name: "x", value: "1" }, { name: "y", value: "2" }] },
        header: { headers: [{ name: "h", value: "v" }] },
      },
      req("/?x=1&y=2", { headers: ["h", "v"] }),
      "header",
    ],
    [
      "Exact over RegularExpression over PathPrefix",
      {
        a_prefix: { path: { type: "PathPrefix", value: "/api/v1/users" } },
        regex: { path: { type: "RegularExpression", value: "/api/v[0-9]+/.*" } },
      },
      req("/api/v1/users"),
      "regex",
    ],
    ["name order as the tie-break", { b: {}, a: {} }, req("/"), "a"],
  ];
  for (const [name, ms, r, want] of cases) {
    test(name, () => assert.equal(winner(routes(ms), r), want));
  }

  test("older route (createdAt) beats name order", () => {
    const rs: HttpRoute[] = [
      { name: "a", hostnames: [], rules: [{}], createdAt: 2 },
      { name: "b", hostnames: [], rules: [{}], createdAt: 1 },
      { name: "c", hostnames: [], rules: [{}] },
    ];
    assert.equal(winner(rs, req("/")), "b");
  });

  test("within a route, the first rule wins a tie", () => {
    const t = compileRoutes([{ name: "r", hostnames: [], rules: [{ backendRefs: [{ name: "one" }] }, { backendRefs: [{ name: "two" }] }] }]);
    assert.equal(t.match(req("/"))?.ruleIndex, 0);
  });

  test("a rule's matches rank separately (OR)", () => {
    const rs: HttpRoute[] = [
      { name: "a", hostnames: [], rules: [{ matches: [{ path: { type: "PathPrefix", value: "/" } }, { path: { type: "Exact", value: "/x" } }] }] },
      { name: "b", hostnames: [], rules: [{ matches: [{ path: { type: "PathPrefix", value: "/x" } }] }] },
    ];
    assert.equal(winner(rs, req("/x")), "a");
    assert.equal(winner(rs, req("/x/y")), "b");
  });

  test("a rule without matches matches everything as PathPrefix /", () => {
    assert.equal(winner([{ name: "all", hostnames: [], rules: [{}] }], req("/anything?q=1")), "all");
  });

  test("no match: undefined", () => {
    assert.equal(winner(routes({ a: { path: { type: "Exact", value: "/a" } } }), req("/b")), undefined);
  });
});

describe("PathPrefix is segment-wise", () => {
  const table: [string, string, boolean][] = [
    ["/foo", "/foo", true],
    ["/foo", "/foo/", true],
    ["/foo", "/foo/bar", true],
    ["/foo", "/foobar", false],
    ["/foo", "/fo", false],
    ["/", "/anything", true],
    ["/foo/", "/foo", true],
    ["/foo/", "/foo/bar", true],
    ["/foo/", "/foobar", false],
  ];
  for (const [prefix, path, want] of table) {
    test(`${prefix} vs ${path} -> ${want}`, () => {
      assert.equal(winner(routes({ r: { path: { type: "PathPrefix", value: prefix } } }), req(path)) === "r", want);
    });
  }
  test("prefixMatches helper", () => {
    assert.equal(prefixMatches("/a", "/a/b"), true);
    assert.equal(prefixMatches("/a", "/ab"), false);
  });
});

describe("regex, headers, query, method", () => {
  test("RegularExpression path matches the whole path", () => {
    const rs = routes({ r: { path: { type: "RegularExpression", value: "/items/[0-9]+" } } });
    assert.equal(winner(rs, req("/items/42")), "r");
    assert.equal(winner(rs, req("/items/42/x")), undefined);
    assert.equal(winner(rs, req("/x/items/42")), undefined);
  });
  test("header Exact: case-insensitive name, case-sensitive value", () => {
    const rs = routes({ r: { headers: [{ name: "X-Env", value: "canary" }] } });
    assert.equal(winner(rs, req("/", { headers: ["x-env", "canary"] })), "r");
    assert.equal(winner(rs, req("/", { headers: ["X-ENV", "Canary"] })), undefined);
    assert.equal(winner(rs, req("/")), undefined);
  });
  test("header RegularExpression", () => {
    const rs = routes({ r: { headers: [{ type: "RegularExpression", name: "user-agent", value: ".*Firefox.*" }] } });
    assert.equal(winner(rs, req("/", { headers: ["User-Agent", "Mozilla/5.0 Firefox/120"] })), "r");
    assert.equal(winner(rs, req("/", { headers: ["User-Agent", "curl/8"] })), undefined);
  });
  test("repeated header fields are joined with ','", () => {
    const rs = routes({ r: { headers: [{ name: "x", value: "a,b" }] } });
    assert.equal(winner(rs, req("/", { headers: ["x", "a", "X", "b"] })), "r");
  });
  test("query Exact and RegularExpression; first value; percent-decoded; name case-sensitive", () => {
    const ex = routes({ r: { queryParams: [{ name: "v", value: "a b" }] } });
    assert.equal(winner(ex, req("/?v=a%20b")), "r");
    assert.equal(winner(ex, req("/?v=x&v=a%20b")), undefined);
    assert.equal(winner(ex, req("/?V=a%20b")), undefined);
    const re = routes({ r: { queryParams: [{ type: "RegularExpression", name: "id", value: "[0-9]{3}" }] } });
    assert.equal(winner(re, req("/?id=123")), "r");
    assert.equal(winner(re, req("/?id=1234")), undefined);
  });
  test("method, case of the request method ignored", () => {
    const rs = routes({ r: { method: "POST" } });
    assert.equal(winner(rs, req("/", { method: "POST" })), "r");
    assert.equal(winner(rs, req("/", { method: "GET" })), undefined);
  });
  test("bad regex is a CONFIG_INVALID error at compile time", () => {
    assert.throws(() => compileRoutes(routes({ r: { path: { type: "RegularExpression", value: "(" } } })), (e) =>
      isMeshletError(e, "CONFIG_INVALID"),
    );
  });
  test("ReplacePrefixMatch with a non-prefix match is rejected", () => {
    const rs: HttpRoute[] = [{
      name: "r",
      hostnames: [],
      rules: [{
        matches: [{ path: { type: "Exact", value: "/a" } }],
        filters: [{ type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/b" } } }],
      }],
    }];
    assert.throws(() => compileRoutes(rs), (e) => isMeshletError(e, "CONFIG_INVALID"));
  });
});

describe("hostnames", () => {
  const rs: HttpRoute[] = [
    { name: "any", hostnames: [], rules: [{}] },
    { name: "wild", hostnames: ["*.example.com"], rules: [{}] },
    { name: "wild-long", hostnames: ["*.api.example.com"], rules: [{}] },
    { name: "exact", hostnames: ["foo.example.com"], rules: [{ matches: [{ path: { type: "PathPrefix", value: "/only" } }] }] },
  ];
  const t = compileRoutes(rs);
  const table: [string, string, string][] = [
    ["foo.example.com", "/only/x", "exact"],
    ["FOO.example.com:8080", "/only", "exact"],
    ["foo.example.com.", "/only", "exact"],
    ["foo.example.com", "/other", "wild"], // falls through to the wildcard when the exact host has no match
    ["bar.example.com", "/only", "wild"],
    ["a.b.example.com", "/", "wild"], // a wildcard covers more than one label
    ["x.api.example.com", "/", "wild-long"], // longer wildcard first
    ["example.com", "/", "any"], // "*.example.com" does not match the bare domain
    ["other.org", "/", "any"],
    ["[::1]:80", "/", "any"],
  ];
  for (const [authority, path, want] of table) {
    test(`${authority}${path} -> ${want}`, () => assert.equal(t.match(req(path, { authority }))?.route.name, want));
  }
  test("exact host beats a wildcard even with a less specific path", () => {
    const t2 = compileRoutes([
      { name: "w", hostnames: ["*.example.com"], rules: [{ matches: [{ path: { type: "Exact", value: "/x" } }] }] },
      { name: "e", hostnames: ["a.example.com"], rules: [{}] },
    ]);
    assert.equal(t2.match(req("/x", { authority: "a.example.com" }))?.route.name, "e");
  });
  test("hostOf", () => {
    assert.equal(hostOf("Foo.COM:80"), "foo.com");
    assert.equal(hostOf("[::1]:8080"), "[::1]");
  });
});

describe("splitTarget", () => {
  test("origin-form and absolute-form", () => {
    assert.deepEqual(splitTarget("/a/b?x=1"), { path: "/a/b", query: "x=1", authority: undefined });
    assert.deepEqual(splitTarget("/a"), { path: "/a", query: "", authority: undefined });
    assert.deepEqual(splitTarget("http://h:8080/p?q"), { path: "/p", query: "q", authority: "h:8080" });
    assert.deepEqual(splitTarget("http://h?q"), { path: "/", query: "q", authority: "h" });
  });
});

describe("scale", () => {
  test("100 routes x 3 rules compile and match the intended route", () => {
    const rs: HttpRoute[] = [];
    for (let i = 0; i < 100; i++) {
      rs.push({
        name: `r${String(i).padStart(3, "0")}`,
        hostnames: [`svc${i % 10}.example.com`, "*.example.com"],
        rules: [
          { matches: [{ path: { type: "PathPrefix", value: `/api/${i}` } }] },
          { matches: [{ path: { type: "Exact", value: `/api/${i}/health` }, method: "GET" }] },
          { matches: [{ path: { type: "RegularExpression", value: `/re/${i}/[a-z]+` } }] },
        ],
      });
    }
    const t = compileRoutes(rs);
    assert.equal(t.match(req("/api/57/x", { authority: "svc7.example.com" }))?.route.name, "r057");
    assert.equal(t.match(req("/api/57/health", { authority: "svc7.example.com" }))?.ruleIndex, 1);
    assert.equal(t.match(req("/re/42/abc", { authority: "zzz.example.com" }))?.route.name, "r042");
    assert.equal(t.match(req("/api/570", { authority: "zzz.example.com" })), undefined);
  });
});
