import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatAccessLog } from "../../../core/telemetry/access-log.ts";
import type { AccessLogRecord } from "../../../core/telemetry/types.ts";

const base: AccessLogRecord = {
  time: "2025-01-02T03:04:05.678Z",
  direction: "outbound",
  method: "GET",
  authority: "web:80",
  path: "/a?b=c",
  status: 200,
  duration_ms: 1.23456789,
  endpoint: "127.0.0.1:9001",
  request_bytes: 0,
  response_bytes: 42,
};

describe("formatAccessLog", () => {
  it("writes one JSON object with the fields in a fixed order", () => {
    const line = formatAccessLog(base);
    assert.equal(
      line,
      '{"time":"2025-01-02T03:04:05.678Z","direction":"outbound","method":"GET","authority":"web:80",' +
        '"path":"/a?b=c","status":200,"duration_ms":1.235,"endpoint":"127.0.0.1:9001","request_bytes":0,"response_bytes":42}',
    );
  });

  it("keeps the same order whatever order the record was built in", () => {
    const shuffled = Object.fromEntries(Object.entries(base).reverse()) as unknown as AccessLogRecord;
    assert.equal(formatAccessLog(shuffled), formatAccessLog(base));
  });

  it("adds error only when there is one", () => {
    const rec = { ...base, status: 503, endpoint: "", error: "no endpoints" };
    const parsed = JSON.parse(formatAccessLog(rec)) as Record<string, unknown>;
    assert.equal(parsed["error"], "no endpoints");
    assert.equal(parsed["endpoint"], "");
    assert.equal("error" in (JSON.parse(formatAccessLog(base)) as object), false);
  });

  it("carries the protocol, gRPC status and the peer's TLS identity when the record has them", () => {
    const rec: AccessLogRecord = { ...base, direction: "inbound", protocol: "HTTP/2", grpc_status: 7, tls: "true", client_id: "spiffe://t/ns/a/sa/b" };
    assert.equal(
      formatAccessLog(rec),
      '{"time":"2025-01-02T03:04:05.678Z","direction":"inbound","method":"GET","authority":"web:80",' +
        '"path":"/a?b=c","status":200,"duration_ms":1.235,"endpoint":"127.0.0.1:9001","request_bytes":0,"response_bytes":42,' +
        '"grpc_status":7,"protocol":"HTTP/2","tls":"true","client_id":"spiffe://t/ns/a/sa/b"}',
    );
    const out = JSON.parse(formatAccessLog({ ...base, tls: "true", server_id: "spiffe://t/ns/c/sa/d" })) as Record<string, unknown>;
    assert.equal(out.server_id, "spiffe://t/ns/c/sa/d");
    assert.equal("client_id" in out, false);
  });

  it("stays on one line whatever the request carried", () => {
    const line = formatAccessLog({ ...base, path: "/x\r\ny\u0000\u2028", authority: 'a"b\\c' });
    assert.equal(/[\r\n\u0000]/.test(line), false);
    const parsed = JSON.parse(line) as AccessLogRecord;
    assert.equal(parsed.path, "/x\r\ny\u0000\u2028");
    assert.equal(parsed.authority, 'a"b\\c');
  });
});
