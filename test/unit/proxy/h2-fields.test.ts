// Header translation between HTTP/1 field lists and HTTP/2 (RFC 9113 §8.2).
import assert from "node:assert/strict";
import { test } from "node:test";
import { joinCookies, toH2Fields } from "../../../core/proxy/h2-fields.ts";

test("toH2Fields lower-cases names and drops connection-specific fields, host and TE", () => {
  const h1 = ["Content-Type", "text/plain", "Connection", "keep-alive", "Keep-Alive", "timeout=5", "X-Custom", "A",
    "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Proxy-Connection", "x", "Host", "web", "TE", "trailers", "x-ok", "b"];
  assert.deepEqual(toH2Fields(h1), ["content-type", "text/plain", "x-custom", "A", "x-ok", "b"]);
  assert.deepEqual(toH2Fields(["TE", "trailers"], true), ["te", "trailers"]);
  const already = ["a", "1"];
  assert.deepEqual(toH2Fields(already), ["a", "1"]);
});

test("joinCookies joins HTTP/2 cookie crumbs with '; ' at the first one's place", () => {
  assert.deepEqual(joinCookies(["cookie", "a=1", "x", "y", "cookie", "b=2", "cookie", "c=3"]), ["cookie", "a=1; b=2; c=3", "x", "y"]);
  const one = ["cookie", "a=1", "x", "y"];
  assert.equal(joinCookies(one), one, "a single cookie field is left as it is (no copy)");
});
