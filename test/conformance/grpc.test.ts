// gRPC through the proxy, with real peers: the grpc-js interop client and server of test/fixtures/grpc-interop.mjs
// (grpc/doc/interop-test-descriptions.md on proto/testing/test.proto), both run by Node whatever runtime runs the
// proxy. The client reaches the outbound listener over h2c with :authority grpc-svc. Also: the proxy's own errors
// as gRPC statuses, the grpc_status_code metric labels, deadline propagation and retries on UNAVAILABLE.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runClient, startGrpcServer, type CaseResult, type GrpcServer } from "./grpc-peers.ts";
import * as h from "./harness.ts";

/** The interop cases of the spec (and the extra proxy cases) run in one client process; each is a test below. */
const INTEROP_CASES = [
  "empty_unary",
  "large_unary",
  "client_streaming",
  "server_streaming",
  "ping_pong",
  "empty_stream",
  "timeout_on_sleeping_server",
  "cancel_after_begin",
  "cancel_after_first_response",
  "status_code_and_message",
  "special_status_message",
  "custom_metadata",
  "unimplemented_method",
  "large_4mb",
  "deadline_propagated",
  "deadline_exceeded_by_proxy",
  "deadline_header_only",
  "metadata_special",
  "concurrent_100",
] as const;

describe(`grpc [${h.runtime}]`, { timeout: 180_000 }, () => {
  let server: GrpcServer | undefined;
  let proxy: h.ProxyProcess | undefined;
  let interop: Promise<Record<string, CaseResult>>;
  const t = (name: string, fn: () => Promise<void>) => test(name, h.withDiagnostics(() => proxy, fn));
  const serverTail = () => (server ? `\n--- grpc server stderr:\n${server.stderr().slice(-2000)}` : "");

  before(async () => {
    server = await startGrpcServer();
    const closed = await h.closedPort();
    proxy = await h.startProxy(
      h.makeConfig({
        services: [
          { name: "grpc-svc", endpoints: [server.addr] },
          { name: "grpc-down", endpoints: [closed], failureAccrual: false },
        ],
        overrides: {
          accessLog: { enabled: false },
          // A GRPCRoute: UnaryCall gets retries (on UNAVAILABLE, the default grpcCodes); other methods take the
          // service's default route, without retries.
          grpcRoutes: [
            {
              name: "grpc-retry",
              parentRefs: [{ name: "grpc-svc" }],
              rules: [
                {
                  matches: [{ method: { service: "grpc.testing.TestService", method: "UnaryCall" } }],
                  retry: { attempts: 2, backoff: { base: "1ms", max: "5ms" } },
                },
              ],
            },
          ],
        },
      }),
    );
    interop = runClient(proxy.outbound, "grpc-svc", INTEROP_CASES);
    interop.catch(() => undefined); // reported by each test
  });
  after(async () => {
    await proxy?.stop();
    server?.close();
  });

  const result = async (name: string): Promise<CaseResult> => {
    const r = (await interop)[name];
    assert.ok(r, `no result for ${name}`);
    return r;
  };

  for (const name of INTEROP_CASES) {
    t(`interop: ${name}`, async () => {
      const r = await result(name);
      assert.ok(r.ok, `${name}: ${r.error}${serverTail()}`);
    });
  }

  t("the deadline reaches the server as the remaining time (1000 < ms <= 2000 of 2000)", async () => {
    const r = await result("deadline_propagated");
    assert.ok(r.ok, r.error);
    assert.ok(r.remainingMs! > 1000 && r.remainingMs! <= 2000, `remaining ${r.remainingMs}`);
  });

  t("a call past its deadline ends DEADLINE_EXCEEDED within 1 s while the server sleeps", async () => {
    const r = await result("deadline_exceeded_by_proxy");
    assert.ok(r.ok, r.error);
    assert.ok(r.elapsedMs! < 1000, `elapsed ${r.elapsedMs} ms`);
  });

  t("an unreachable endpoint is UNAVAILABLE (14) with a meshlet: message", async () => {
    const r = (await runClient(proxy!.outbound, "grpc-down", ["status_of_empty_call"])).status_of_empty_call!;
    assert.ok(r.ok, r.error);
    assert.equal(r.code, 14, `status ${r.code} ${JSON.stringify(r.details)}`);
    assert.match(r.details ?? "", /^meshlet:/);
  });

  let noRoute: Promise<CaseResult> | undefined;
  const noRouteResult = () => (noRoute ??= runClient(proxy!.outbound, "nowhere", ["status_of_empty_call"]).then((r) => r.status_of_empty_call!));

  t("an authority with no route is UNIMPLEMENTED (12)", async () => {
    const r = await noRouteResult();
    assert.ok(r.ok, r.error);
    assert.equal(r.code, 12, `status ${r.code} ${JSON.stringify(r.details)}`);
  });

  t("no route is a gRPC status from the proxy (grpc-message meshlet: ...), not a bare HTTP 404", async () => {
    const r = await noRouteResult();
    assert.ok(r.ok, r.error);
    assert.match(r.details ?? "", /^meshlet:/, `status ${r.code} ${JSON.stringify(r.details)}`);
  });

  t("a deadline sent only as grpc-timeout (no client timer) is enforced downstream within 1 s", async () => {
    const r = await result("deadline_header_only");
    assert.ok(r.ok, r.error);
    assert.ok(r.elapsedMs! < 1000, `elapsed ${r.elapsedMs} ms`);
  });

  t("UNAVAILABLE (trailers-only) is retried by the route: the client sees OK, the server saw 2 calls", async () => {
    const before = await h.metricValue(proxy!, "http_route_retry_requests_total", { direction: "outbound", route: "grpc-retry" });
    const r = (await runClient(proxy!.outbound, "grpc-svc", ["fail_first_unary"])).fail_first_unary!;
    assert.ok(r.ok, r.error);
    assert.equal(r.code, 0, `status ${r.code} ${JSON.stringify(r.details)}`);
    assert.equal(r.keyCalls, 2);
    const afterRetries = await h.metricValue(proxy!, "http_route_retry_requests_total", { direction: "outbound", route: "grpc-retry" });
    assert.equal(afterRetries - before, 1);
  });

  t("response_total carries grpc_status_code and classifies non-OK statuses as failures", async () => {
    await interop.catch(() => undefined);
    const m = await h.scrape(proxy!);
    const base = { direction: "outbound", authority: "grpc-svc" };
    const ok = h.sumMetric(m, "response_total", { ...base, grpc_status_code: "0", classification: "success" });
    assert.ok(ok > 0, `OK responses counted as successes: ${ok}`);
    // status_code_and_message (unary and full duplex) and special_status_message answer UNKNOWN (2)
    const unknown = h.sumMetric(m, "response_total", { ...base, grpc_status_code: "2", classification: "failure" });
    assert.ok(unknown >= 3, `UNKNOWN responses counted as failures: ${unknown}`);
    assert.equal(h.sumMetric(m, "response_total", { ...base, grpc_status_code: "2", classification: "success" }), 0);
    // the proxy's own UNAVAILABLE for grpc-down is a failure as well
    assert.ok(h.sumMetric(m, "response_total", { direction: "outbound", authority: "grpc-down", grpc_status_code: "14", classification: "failure" }) >= 1);
  });
});
