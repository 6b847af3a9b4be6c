// Every rejection: its code and status, for requests (4xx/5xx) and responses (502), fed whole and byte by byte.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { byteByByte, bytes, run } from "./helpers.ts";

interface Reject {
  name: string;
  input: string;
  code: string;
  status: number;
}

const H = "POST / HTTP/1.1\r\n";
const CHUNKED = H + "Transfer-Encoding: chunked\r\n\r\n";

const requestRejects: Reject[] = [
  // smuggling vectors
  { name: "CL and TE", input: H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", code: "CL_AND_TE", status: 400 },
  { name: "TE and CL", input: H + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", code: "CL_AND_TE", status: 400 },
  { name: "differing duplicate CL", input: H + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", code: "DUPLICATE_CONTENT_LENGTH", status: 400 },
  { name: "differing CL list", input: H + "Content-Length: 5, 6\r\n\r\n", code: "DUPLICATE_CONTENT_LENGTH", status: 400 },
  { name: "non-digit CL", input: H + "Content-Length: 5a\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "signed CL", input: H + "Content-Length: +5\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "negative CL", input: H + "Content-Length: -1\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "empty CL", input: H + "Content-Length:\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "CL list with empty element", input: H + "Content-Length: 5,\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "CL with inner space", input: H + "Content-Length: 1 2\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "CL overflow", input: H + "Content-Length: 99999999999999999\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "CL past 2^53", input: H + "Content-Length: 9007199254740993\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 400 },
  { name: "TE gzip", input: H + "Transfer-Encoding: gzip\r\n\r\n", code: "UNSUPPORTED_TRANSFER_ENCODING", status: 501 },
  { name: "TE gzip, chunked", input: H + "Transfer-Encoding: gzip, chunked\r\n\r\n", code: "UNSUPPORTED_TRANSFER_ENCODING", status: 501 },
  { name: "TE split over lines", input: H + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", code: "UNSUPPORTED_TRANSFER_ENCODING", status: 501 },
  { name: "TE chunked with params", input: H + "Transfer-Encoding: chunked;q=1\r\n\r\n", code: "UNSUPPORTED_TRANSFER_ENCODING", status: 501 },
  { name: "TE chunked not last", input: H + "Transfer-Encoding: chunked, gzip\r\n\r\n", code: "BAD_TRANSFER_ENCODING", status: 400 },
  { name: "TE chunked twice", input: H + "Transfer-Encoding: chunked, chunked\r\n\r\n", code: "BAD_TRANSFER_ENCODING", status: 400 },
  { name: "TE empty", input: H + "Transfer-Encoding: \r\n\r\n", code: "BAD_TRANSFER_ENCODING", status: 400 },
  { name: "TE with vertical tab", input: H + "Transfer-Encoding: \x0bchunked\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "obs-fold (SP)", input: H + "X-A: 1\r\n 2\r\n\r\n", code: "OBS_FOLD", status: 400 },
  { name: "obs-fold (HTAB)", input: H + "X-A: 1\r\n\t2\r\n\r\n", code: "OBS_FOLD", status: 400 },
  { name: "obs-fold on first field", input: H + " X-A: 1\r\n\r\n", code: "OBS_FOLD", status: 400 },
  { name: "space before colon", input: H + "Transfer-Encoding : chunked\r\n\r\n", code: "WHITESPACE_BEFORE_COLON", status: 400 },
  { name: "tab before colon", input: H + "Content-Length\t: 1\r\n\r\n", code: "WHITESPACE_BEFORE_COLON", status: 400 },
  { name: "bare CR in value", input: H + "X-A: a\rb\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare CR at end of value", input: H + "X-A: a\r\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare CR in name", input: H + "X\rA: a\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "NUL in value", input: H + "X-A: a\x00b\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "NUL in name", input: H + "X\x00A: a\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "control char in value", input: H + "X-A: a\x01\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "DEL in value", input: H + "X-A: a\x7f\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare LF ends a field line", input: H + "X-A: a\nX-B: b\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare LF ends the request line", input: "GET / HTTP/1.1\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare CR ends the request line", input: "GET / HTTP/1.1\r\r\nHost: x\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare CR inside the request line", input: "GET /a\rb HTTP/1.1\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "bare LF ends the head", input: H + "X-A: a\r\n\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "non-token field name", input: H + "X(A): a\r\n\r\n", code: "BAD_HEADER", status: 400 },
  { name: "space inside field name", input: H + "X A: a\r\n\r\n", code: "BAD_HEADER", status: 400 },
  { name: "empty field name", input: H + ": a\r\n\r\n", code: "BAD_HEADER", status: 400 },
  { name: "field line without colon", input: H + "X-A a\r\n\r\n", code: "BAD_HEADER", status: 400 },
  { name: "duplicate Host", input: "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", code: "DUPLICATE_HOST", status: 400 },
  // request line
  { name: "invalid method char", input: "G(T / HTTP/1.1\r\n\r\n", code: "BAD_METHOD", status: 400 },
  { name: "method starts with a control char", input: "\x01GET / HTTP/1.1\r\n\r\n", code: "BAD_METHOD", status: 400 },
  { name: "empty method", input: " / HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "two spaces after method", input: "GET  / HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "space in target", input: "GET /a b HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "control char in target", input: "GET /a\x01 HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "tab in target", input: "GET /a\tb HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "non-ASCII in target", input: "GET /\xe9 HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "HTTP/0.9 style", input: "GET /\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "lowercase version", input: "GET / http/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "trailing space after version", input: "GET / HTTP/1.1 \r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "HTTP/2.0", input: "GET / HTTP/2.0\r\n\r\n", code: "BAD_VERSION", status: 505 },
  { name: "HTTP/1.2", input: "GET / HTTP/1.2\r\n\r\n", code: "BAD_VERSION", status: 505 },
  { name: "CONNECT with origin-form", input: "CONNECT / HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "CONNECT without port", input: "CONNECT example.com HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "GET with a bare host as target", input: "GET example.com HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "GET with scheme-less target", input: "GET :80/ HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  { name: "asterisk-form for GET", input: "GET * HTTP/1.1\r\n\r\n", code: "BAD_REQUEST_LINE", status: 400 },
  // chunked framing
  { name: "non-hex chunk size", input: CHUNKED + "g\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "empty chunk size", input: CHUNKED + "\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size with sign", input: CHUNKED + "+5\r\nhello\r\n0\r\n\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size 0x prefix", input: CHUNKED + "0x5\r\nhello\r\n0\r\n\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size too many digits", input: CHUNKED + "00000000000000001\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size past 2^53", input: CHUNKED + "20000000000000\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size with bare LF", input: CHUNKED + "5\nhello\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size with bare CR", input: CHUNKED + "5\rhello\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk size with space inside", input: CHUNKED + "1 0\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "missing CRLF after chunk data", input: CHUNKED + "5\r\nhelloX\r\n0\r\n\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk data LF only", input: CHUNKED + "5\r\nhello\n0\r\n\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk data too long", input: CHUNKED + "2\r\nabc\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "control char in chunk extension", input: CHUNKED + "5;a\x01\r\nhello\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "bare LF in chunk extension", input: CHUNKED + "5;a\nhello\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "chunk extension too long", input: CHUNKED + "5;" + "a".repeat(5000) + "\r\n", code: "BAD_CHUNK", status: 400 },
  { name: "obs-fold in trailers", input: CHUNKED + "0\r\nX-T: a\r\n b\r\n\r\n", code: "OBS_FOLD", status: 400 },
  { name: "NUL in trailers", input: CHUNKED + "0\r\nX-T: a\x00\r\n\r\n", code: "INVALID_CHARACTER", status: 400 },
  { name: "trailer section too large", input: CHUNKED + "0\r\n" + "X-T: aaaaaaaaaa\r\n".repeat(5000) + "\r\n", code: "TRAILERS_TOO_LARGE", status: 400 },
];

describe("RequestParser rejections (whole and byte by byte)", () => {
  for (const r of requestRejects) {
    test(`${r.name} -> ${r.status} ${r.code}`, () => {
      for (const chunks of [[bytes(r.input)], byteByByte(r.input)]) {
        const ev = run("req", chunks);
        const last = ev[ev.length - 1];
        assert.deepEqual(last, { t: "error", code: r.code, status: r.status }, JSON.stringify(ev.slice(0, -1)));
        assert.equal(ev.filter((e) => e.t === "error").length, 1);
      }
    });
  }
});

describe("limits are enforced incrementally", () => {
  test("header section over maxHeaderBytes -> 431 before the end of headers", () => {
    const ev = run("req", [bytes("GET / HTTP/1.1\r\n"), bytes("X-Big: " + "a".repeat(70000))]);
    assert.deepEqual(ev, [{ t: "error", code: "HEADERS_TOO_LARGE", status: 431 }]);
  });
  test("many small fields over the default 64 KiB -> 431", () => {
    const input = "GET / HTTP/1.1\r\n" + "X-A: 0123456789\r\n".repeat(4000);
    for (const chunks of [[bytes(input)], byteByByte(input)]) {
      assert.deepEqual(run("req", chunks), [{ t: "error", code: "HEADERS_TOO_LARGE", status: 431 }]);
    }
  });
  test("custom maxHeaderBytes, byte by byte", () => {
    const input = "GET / HTTP/1.1\r\nX-A: " + "a".repeat(100) + "\r\n\r\n";
    for (const chunks of [[bytes(input)], byteByByte(input)]) {
      assert.deepEqual(run("req", chunks, { limits: { maxHeaderBytes: 64 } }), [{ t: "error", code: "HEADERS_TOO_LARGE", status: 431 }]);
    }
    // exactly at the limit is fine
    const ok = run("req", [bytes(input)], { limits: { maxHeaderBytes: input.length } });
    assert.equal(ok[0]?.t, "head");
  });
  test("request line over maxRequestLineBytes -> 414 without its CRLF", () => {
    const ev = run("req", [bytes("GET /" + "a".repeat(9000))]);
    assert.deepEqual(ev, [{ t: "error", code: "URI_TOO_LONG", status: 414 }]);
  });
  test("request line exactly at maxRequestLineBytes is accepted", () => {
    const line = "GET /" + "a".repeat(8192 - 14) + " HTTP/1.1";
    assert.equal(line.length, 8192);
    const ev = run("req", [bytes(line + "\r\n\r\n")]);
    assert.equal(ev[0]?.t, "head");
    const ev2 = run("req", [bytes("GET /a" + "a".repeat(8192 - 14) + " HTTP/1.1\r\n\r\n")]);
    assert.deepEqual(ev2, [{ t: "error", code: "URI_TOO_LONG", status: 414 }]);
  });
  test("a long header line is not a long request line", () => {
    const ev = run("req", [bytes("GET / HTTP/1.1\r\nX-A: " + "a".repeat(10000) + "\r\n\r\n")]);
    assert.equal(ev[0]?.t, "head");
  });
  test("header limit applies per message, not per connection", () => {
    const one = "GET / HTTP/1.1\r\nX-A: " + "a".repeat(40) + "\r\n\r\n";
    const ev = run("req", [bytes(one.repeat(5))], { limits: { maxHeaderBytes: one.length } });
    assert.equal(ev.filter((e) => e.t === "head").length, 5);
  });
});

describe("after an error the parser is dead", () => {
  test("no events after onError, further input ignored", () => {
    const ev = run("req", [bytes("GET / HTTP/1.1\r\nX A: 1\r\n\r\n"), bytes("GET / HTTP/1.1\r\n\r\n")], { finish: true });
    assert.deepEqual(ev, [{ t: "error", code: "BAD_HEADER", status: 400 }]);
  });
  test("an error in a pipelined second request comes after the first completes", () => {
    const ev = run("req", [bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nContent-Length: x\r\n\r\n")]);
    assert.deepEqual(ev.map((e) => e.t), ["head", "end", "error"]);
  });
});

const R = "HTTP/1.1 200 OK\r\n";
const responseRejects: Reject[] = [
  { name: "CL and TE", input: R + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", code: "CL_AND_TE", status: 502 },
  { name: "differing CL", input: R + "Content-Length: 5\r\nContent-Length: 7\r\n\r\n", code: "DUPLICATE_CONTENT_LENGTH", status: 502 },
  { name: "bad CL", input: R + "Content-Length: five\r\n\r\n", code: "BAD_CONTENT_LENGTH", status: 502 },
  { name: "TE gzip", input: R + "Transfer-Encoding: gzip\r\n\r\n", code: "UNSUPPORTED_TRANSFER_ENCODING", status: 502 },
  { name: "TE chunked not last", input: R + "Transfer-Encoding: chunked, gzip\r\n\r\n", code: "BAD_TRANSFER_ENCODING", status: 502 },
  { name: "obs-fold", input: R + "X-A: 1\r\n 2\r\n\r\n", code: "OBS_FOLD", status: 502 },
  { name: "space before colon", input: R + "X-A : 1\r\n\r\n", code: "WHITESPACE_BEFORE_COLON", status: 502 },
  { name: "bare CR", input: R + "X-A: 1\r2\r\n\r\n", code: "INVALID_CHARACTER", status: 502 },
  { name: "bare LF", input: "HTTP/1.1 200 OK\n\n", code: "INVALID_CHARACTER", status: 502 },
  { name: "bare CR ends the status line", input: "HTTP/1.1 200 OK\r\r\nContent-Length: 0\r\n\r\n", code: "INVALID_CHARACTER", status: 502 },
  { name: "NUL", input: R + "X-A: \x00\r\n\r\n", code: "INVALID_CHARACTER", status: 502 },
  { name: "non-token name", input: R + "X@A: 1\r\n\r\n", code: "BAD_HEADER", status: 502 },
  { name: "bad chunk size", input: R + "Transfer-Encoding: chunked\r\n\r\nz\r\n", code: "BAD_CHUNK", status: 502 },
  { name: "chunk size overflow", input: R + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n", code: "BAD_CHUNK", status: 502 },
  { name: "huge header", input: R + "X-A: " + "a".repeat(70000), code: "HEADERS_TOO_LARGE", status: 502 },
  { name: "garbage status line", input: "HTTP/1.1 OK\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "two-digit status", input: "HTTP/1.1 20 OK\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "status 099", input: "HTTP/1.1 099 X\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "four-digit status", input: "HTTP/1.1 2000 OK\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "not HTTP", input: "SSH-2.0-OpenSSH\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "control char in reason", input: "HTTP/1.1 200 O\x01K\r\n\r\n", code: "BAD_STATUS_LINE", status: 502 },
  { name: "HTTP/2.0 status line", input: "HTTP/2.0 200 OK\r\n\r\n", code: "BAD_VERSION", status: 502 },
];

describe("ResponseParser rejections are 502 (whole and byte by byte)", () => {
  for (const r of responseRejects) {
    test(`${r.name} -> ${r.code}`, () => {
      for (const chunks of [[bytes(r.input)], byteByByte(r.input)]) {
        const ev = run("res", chunks);
        assert.deepEqual(ev[ev.length - 1], { t: "error", code: r.code, status: r.status }, JSON.stringify(ev));
      }
    });
  }
});
