// Header modifiers, redirects and rewrites.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { applyHeaderModifier, modifyPath, redirectResponse, rewriteRequest, type FilterRequest } from "../../../core/routing/filters.ts";
import type { HeaderModifier } from "../../../core/routing/types.ts";

describe("applyHeaderModifier", () => {
  const base = ["Host", "h", "X-A", "1", "x-a", "2", "X-B", "b"];
  const table: [string, HeaderModifier, string[]][] = [
    ["set replaces every field of the name, case-insensitively, in place", { set: [{ name: "x-a", value: "new" }] }, ["Host", "h", "X-A", "new", "X-B", "b"]],
    ["set appends when absent", { set: [{ name: "X-C", value: "c" }] }, [...base, "X-C", "c"]],
    ["add appends a field", { add: [{ name: "x-a", value: "3" }] }, [...base, "x-a", "3"]],
    ["remove drops every field of the name", { remove: ["X-a"] }, ["Host", "h", "X-B", "b"]],
    [
      "all three together",
      { set: [{ name: "X-B", value: "B" }], add: [{ name: "X-D", value: "d" }], remove: ["x-a"] },
      ["Host", "h", "X-B", "B", "X-D", "d"],
    ],
    ["empty modifier copies", {}, base],
  ];
  for (const [name, mod, want] of table) {
    test(name, () => {
      const input = [...base];
      assert.deepEqual(applyHeaderModifier(input, mod), want);
      assert.deepEqual(input, base, "input untouched");
    });
  }
});

describe("modifyPath ReplacePrefixMatch (Gateway API table)", () => {
  const table: [string, string, string, string][] = [
    // prefix, request path, replacement, result
    ["/foo", "/foo/bar", "/xyz", "/xyz/bar"],
    ["/foo", "/foo/bar", "/xyz/", "/xyz/bar"],
    ["/foo/", "/foo/bar", "/xyz", "/xyz/bar"],
    ["/foo/", "/foo/bar", "/xyz/", "/xyz/bar"],
    ["/foo", "/foo", "/xyz", "/xyz"],
    ["/foo", "/foo/", "/xyz", "/xyz/"],
    ["/foo", "/foo/", "/xyz/", "/xyz/"],
    ["/foo/", "/foo", "/xyz", "/xyz"],
    ["/foo", "/foo/bar", "/", "/bar"],
    ["/foo", "/foo", "/", "/"],
    ["/", "/foo/bar", "/xyz", "/xyz/foo/bar"],
    ["/", "/", "/xyz", "/xyz/"],
  ];
  for (const [prefix, path, repl, want] of table) {
    test(`${prefix} ${path} ${repl} -> ${want}`, () => {
      assert.equal(modifyPath(path, { type: "ReplacePrefixMatch", replacePrefixMatch: repl }, prefix), want);
    });
  }
  test("ReplaceFullPath", () => {
    assert.equal(modifyPath("/a/b", { type: "ReplaceFullPath", replaceFullPath: "/z" }, "/a"), "/z");
  });
});

describe("redirectResponse", () => {
  const r: FilterRequest = { scheme: "http", authority: "a.example.com:8080", path: "/foo/bar", query: "q=1", matchedPrefix: "/foo" };
  const table: [string, Parameters<typeof redirectResponse>[1], FilterRequest, number, string][] = [
    ["defaults: 302, same URL", {}, r, 302, "http://a.example.com:8080/foo/bar?q=1"],
    ["scheme https: port becomes 443 and is left out", { scheme: "https" }, r, 302, "https://a.example.com/foo/bar?q=1"],
    ["scheme + explicit port", { scheme: "https", port: 8443 }, r, 302, "https://a.example.com:8443/foo/bar?q=1"],
    ["hostname and 301", { hostname: "b.example.com", statusCode: 301 }, r, 301, "http://b.example.com:8080/foo/bar?q=1"],
    ["explicit default port omitted", { port: 80 }, r, 302, "http://a.example.com/foo/bar?q=1"],
    ["request without port", { hostname: "b" }, { ...r, authority: "a", query: "" }, 302, "http://b/foo/bar"],
    ["ReplaceFullPath", { path: { type: "ReplaceFullPath", replaceFullPath: "/new" } }, r, 302, "http://a.example.com:8080/new?q=1"],
    ["ReplacePrefixMatch", { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } }, r, 302, "http://a.example.com:8080/v2/bar?q=1"],
    ["IPv6 authority", { scheme: "https" }, { ...r, authority: "[::1]:8080" }, 302, "https://[::1]/foo/bar?q=1"],
  ];
  for (const [name, cfg, request, status, location] of table) {
    test(name, () => assert.deepEqual(redirectResponse(request, cfg), { status, location }));
  }
});

describe("rewriteRequest", () => {
  const r: FilterRequest = { scheme: "http", authority: "a", path: "/api/v1/users", query: "x=1", matchedPrefix: "/api/v1" };
  test("prefix rewrite keeps the rest and the query", () => {
    assert.deepEqual(rewriteRequest(r, { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v1" } }), { target: "/v1/users?x=1", host: undefined });
  });
  test("hostname rewrite", () => {
    assert.deepEqual(rewriteRequest({ ...r, query: "" }, { hostname: "backend.internal" }), { target: "/api/v1/users", host: "backend.internal" });
  });
  test("full path rewrite", () => {
    assert.deepEqual(rewriteRequest(r, { path: { type: "ReplaceFullPath", replaceFullPath: "/x" } }).target, "/x?x=1");
  });
});
