// grpcRoutes: GRPCRoute matches on service, method and headers compile to request-path matches, with the same
// policies as HTTPRoute rules; errors name the field.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileRoutes } from "../../../core/routing/match.ts";
import { errors, issueAt, ok } from "./helpers.ts";

const base = { services: [{ name: "users", endpoints: ["127.0.0.1:9000"] }, { name: "users-v2", endpoints: ["127.0.0.1:9001"] }] };
const withRoutes = (grpcRoutes: unknown[], routes: unknown[] = []) => ({ ...base, routes, grpcRoutes });

describe("grpcRoutes", () => {
  test("service/method matches become path matches, and route like GRPCRoute", () => {
    const c = ok(withRoutes([
      {
        name: "users-grpc",
        parentRefs: [{ name: "users" }],
        rules: [
          { matches: [{ method: { service: "acme.Users", method: "Get" } }], backendRefs: [{ name: "users-v2" }] },
          { matches: [{ method: { service: "acme.Users" } }], retry: { attempts: 3, grpcCodes: ["unavailable", "resource-exhausted"] } },
          { matches: [{ method: { method: "Health" } }] },
          { matches: [{ method: { type: "RegularExpression", service: "acme\\..*", method: "List.*" }, headers: [{ name: "x-tenant", value: "a" }] }] },
        ],
      },
    ]));
    const rules = c.routes[0]!.rules;
    assert.deepEqual(rules[0]!.matches, [{ path: { type: "Exact", value: "/acme.Users/Get" } }]);
    assert.deepEqual(rules[1]!.matches, [{ path: { type: "PathPrefix", value: "/acme.Users" } }]);
    assert.deepEqual(rules[1]!.retry?.grpcCodes, [14, 8]);
    assert.deepEqual(rules[2]!.matches, [{ path: { type: "RegularExpression", value: "/[^/]+/Health" } }]);
    assert.deepEqual(rules[3]!.matches, [{
      path: { type: "RegularExpression", value: "/(?:acme\\..*)/(?:List.*)" },
      headers: [{ name: "x-tenant", value: "a" }],
    }]);

    const table = compileRoutes(c.routes);
    const route = (path: string, headers: string[] = []) =>
      table.match({ authority: "users", method: "POST", path, query: "", headers })?.rule;
    assert.equal(route("/acme.Users/Get"), c.routes[0]!.rules[0]);
    assert.equal(route("/acme.Users/Delete"), c.routes[0]!.rules[1]);
    assert.equal(route("/acme.UsersX/Get"), undefined, "a service prefix matches whole path segments");
    assert.equal(route("/grpc.health.v1.Health/Health"), c.routes[0]!.rules[2]);
    assert.equal(route("/acme.Orders/ListAll", ["x-tenant", "a"]), c.routes[0]!.rules[3]);
    assert.equal(route("/acme.Orders/ListAll", ["x-tenant", "b"]), undefined);
  });

  test("a method match needs a service or a method; names have no slash", () => {
    issueAt(errors(withRoutes([{ name: "g", parentRefs: [{ name: "users" }], rules: [{ matches: [{ method: {} }] }] }])), "grpcRoutes[0].rules[0].matches[0].method");
    const e = issueAt(errors(withRoutes([{ name: "g", parentRefs: [{ name: "users" }], rules: [{ matches: [{ method: { service: "a/b" } }] }] }])), "grpcRoutes[0].rules[0].matches[0].method.service");
    assert.match(e.message, /without "\/"/);
  });

  test("bad expressions, unknown services, redirect filters and duplicate names are named", () => {
    const bad = errors(withRoutes([{ name: "g", parentRefs: [{ name: "users" }], rules: [{ matches: [{ method: { type: "RegularExpression", method: "(" } }] }] }]));
    assert.match(issueAt(bad, "grpcRoutes[0].rules[0].matches[0].method.method").message, /regular expression/);
    assert.match(issueAt(errors(withRoutes([{ name: "g", parentRefs: [{ name: "nope" }], rules: [{}] }])), "grpcRoutes[0].parentRefs[0].name").message, /configured service/);
    const redirect = errors(withRoutes([{ name: "g", parentRefs: [{ name: "users" }], rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { statusCode: 302 } }] }] }]));
    assert.match(issueAt(redirect, "grpcRoutes[0].rules[0].filters[0]").message, /header modifier|HeaderModifier/);
    const dup = errors(withRoutes([{ name: "same", parentRefs: [{ name: "users" }], rules: [{}] }], [{ name: "same", parentRefs: [{ name: "users" }], rules: [{}] }]));
    assert.match(issueAt(dup, "grpcRoutes[0].name").message, /duplicate route name "same" \(also routes\[0\]\)/);
  });

  test("service protocol and the http2 section are validated", () => {
    assert.equal(ok({ services: [{ name: "a", endpoints: [], protocol: "h2c" }] }).services[0]!.protocol, "h2c");
    assert.match(issueAt(errors({ services: [{ name: "a", endpoints: [], protocol: "h3" }] }), "services[0].protocol").message, /auto|h2c/);
    assert.equal(ok({ http2: { initialWindowSize: 1 << 20, keepAliveInterval: "30s" } }).http2.keepAliveIntervalMs, 30_000);
    issueAt(errors({ http2: { maxFrameSize: 1000 } }), "http2.maxFrameSize");
    issueAt(errors({ http2: { initialWindowSize: 2 ** 31 } }), "http2.initialWindowSize");
    issueAt(errors({ http2: { streams: 5 } }), "http2.streams");
  });
});
