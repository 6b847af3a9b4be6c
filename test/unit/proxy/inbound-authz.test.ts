// The inbound port's authorization (core/proxy/inbound-authz.ts): route policies by HTTPRoute precedence, the
// port's policy for everything else and for TCP.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileInboundAuthz } from "../../../core/proxy/inbound-authz.ts";
import { plaintextPeer, type ClientPeer } from "../../../core/proxy/peer.ts";
import { MetricsStore } from "../../../core/telemetry/metrics.ts";

const m = new MetricsStore();
const meshed = (id: string): ClientPeer => ({ address: "10.1.2.3", tls: "true", identity: id, tag: m.peerTag("inbound", "true", id) });
const plain = plaintextPeer(m, "inbound", "192.168.1.5");
const req = (path: string, method = "GET") => ({ authority: "app", method, path, query: "", headers: [] });

describe("inbound authorization", () => {
  const authz = compileInboundAuthz({
    defaultAction: "deny",
    rules: [{ name: "shop", identities: ["spiffe://t/ns/shop/*"] }, { name: "lan", unauthenticated: true, networks: [{ cidr: "192.168.0.0/16" }] }],
    routes: [
      { name: "admin", matches: [{ path: { type: "PathPrefix", value: "/admin" } }], defaultAction: "deny", rules: [{ name: "ops", identities: ["spiffe://t/ns/ops/sa/a"] }] },
      { name: "health", matches: [{ path: { type: "Exact", value: "/admin/health" } }], defaultAction: "allow", rules: [] },
    ],
  });

  it("the port's policy applies where no route policy matches", () => {
    assert.deepEqual(authz.http(req("/shop"), meshed("spiffe://t/ns/shop/sa/web")), { allowed: true, route: "", rule: "shop" });
    assert.deepEqual(authz.http(req("/shop"), meshed("spiffe://t/ns/other/sa/x")), { allowed: false, route: "", rule: "default" });
    assert.deepEqual(authz.http(req("/shop"), plain), { allowed: true, route: "", rule: "lan" });
  });

  it("a matching route policy replaces the port's, by HTTPRoute precedence (Exact before PathPrefix)", () => {
    assert.deepEqual(authz.http(req("/admin/users"), meshed("spiffe://t/ns/shop/sa/web")), { allowed: false, route: "admin", rule: "default" });
    assert.deepEqual(authz.http(req("/admin/users"), meshed("spiffe://t/ns/ops/sa/a")), { allowed: true, route: "admin", rule: "ops" });
    assert.deepEqual(authz.http(req("/admin/health"), plain), { allowed: true, route: "health", rule: "default" });
    assert.deepEqual(authz.http(req("/administrator"), plain), { allowed: true, route: "", rule: "lan" }, "PathPrefix matches whole segments");
  });

  it("opaque TCP is decided by the port's policy", () => {
    assert.equal(authz.tcp(plain).allowed, true);
    assert.equal(authz.tcp({ ...plain, address: "10.9.9.9" }).allowed, false);
  });

  it("reuses one outcome object per rule (no allocation per decision)", () => {
    const p = meshed("spiffe://t/ns/shop/sa/web");
    assert.equal(authz.http(req("/a"), p), authz.http(req("/b"), p));
  });
});
