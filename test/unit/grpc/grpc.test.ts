// gRPC helpers: grpc-timeout parsing and formatting, grpc-message percent-encoding, status mapping, content-type.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeGrpcMessage, encodeGrpcMessage } from "../../../core/grpc/message.ts";
import { GrpcStatus, grpcStatusForHttp, grpcStatusFromName, grpcStatusName, isGrpcContentType } from "../../../core/grpc/status.ts";
import { formatGrpcTimeout, parseGrpcTimeout } from "../../../core/grpc/timeout.ts";

describe("grpc-timeout", () => {
  test("parses every unit, at most 8 digits", () => {
    const table: [string, number | undefined][] = [
      ["1H", 3_600_000], ["2M", 120_000], ["3S", 3000], ["250m", 250], ["1500u", 1.5], ["2000000n", 2],
      ["99999999m", 99_999_999], [" 5S ", 5000],
      ["123456789m", undefined], ["m", undefined], ["10", undefined], ["10s", undefined], ["-1S", undefined], ["1.5S", undefined], ["", undefined],
    ];
    for (const [input, ms] of table) assert.equal(parseGrpcTimeout(input), ms, JSON.stringify(input));
  });

  test("formats the remaining time, rounded up, in the finest unit with 8 digits", () => {
    assert.equal(formatGrpcTimeout(1.5), "1500u");
    assert.equal(formatGrpcTimeout(99_999), "99999000u");
    assert.equal(formatGrpcTimeout(100_000), "100000m");
    assert.equal(formatGrpcTimeout(0.0004), "1u");
    assert.equal(formatGrpcTimeout(-5), "0u");
    assert.equal(formatGrpcTimeout(200_000_000), "200000S");
    for (const ms of [0.001, 1, 999.9999, 12_345.678, 3_600_000, 123_456_789_000]) {
      const back = parseGrpcTimeout(formatGrpcTimeout(ms))!;
      assert.ok(back >= ms && back - ms < Math.max(0.001, ms * 1e-6) + 60_000 * (ms >= 1e11 ? 1 : 0), `${ms} -> ${formatGrpcTimeout(ms)} -> ${back}`);
    }
  });
});

describe("grpc-message", () => {
  test("percent-encodes UTF-8 outside printable ASCII, and '%' itself", () => {
    assert.equal(encodeGrpcMessage("plain text: ok!"), "plain text: ok!");
    assert.equal(encodeGrpcMessage("100%"), "100%25");
    assert.equal(encodeGrpcMessage("\t\n"), "%09%0A");
    assert.equal(encodeGrpcMessage("☺"), "%E2%98%BA");
  });
  test("round-trips the interop suite's special message", () => {
    const m = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n";
    const e = encodeGrpcMessage(m);
    assert.match(e, /^[\x20-\x7e]*$/);
    assert.equal(decodeGrpcMessage(e), m);
  });
  test("decoding is lenient with a bad escape", () => {
    assert.equal(decodeGrpcMessage("50%"), "50%");
    assert.equal(decodeGrpcMessage("%zz%41"), "%zzA");
  });
});

describe("gRPC status", () => {
  test("names and numbers", () => {
    assert.equal(grpcStatusName(14), "UNAVAILABLE");
    assert.equal(grpcStatusName(17), undefined);
    assert.equal(grpcStatusFromName("deadline-exceeded"), GrpcStatus.DEADLINE_EXCEEDED);
    assert.equal(grpcStatusFromName("Resource_Exhausted"), 8);
    assert.equal(grpcStatusFromName("nope"), undefined);
  });
  test("HTTP statuses map as the gRPC spec says", () => {
    const table: [number, number][] = [[400, 13], [401, 16], [403, 7], [404, 12], [429, 14], [502, 14], [503, 14], [504, 14], [500, 2], [418, 2]];
    for (const [http, grpc] of table) assert.equal(grpcStatusForHttp(http), grpc, String(http));
  });
  test("content-type recognises application/grpc and its +format / parameters only", () => {
    for (const v of ["application/grpc", "application/grpc+proto", "application/grpc+json", "Application/GRPC;charset=utf-8"]) assert.ok(isGrpcContentType(v), v);
    for (const v of [undefined, "", "application/grpc-web", "application/grpcx", "application/json", "text/grpc"]) assert.ok(!isGrpcContentType(v), String(v));
  });
});
