import assert from "node:assert/strict";
import { test } from "node:test";
import { detectProtocol, Detector } from "../../../core/detect/detect.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const CLIENT_HELLO = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

const cases: [string, Uint8Array, "http1" | "h2" | "tls" | "opaque" | "more", ("http1" | "h2" | "tls" | "opaque")?][] = [
  ["GET request line", enc("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), "http1"],
  ["HTTP/1.0 request", enc("POST /x?y=1 HTTP/1.0\r\n"), "http1"],
  ["absolute-form", enc("GET http://web/a HTTP/1.1\r\n"), "http1"],
  ["CONNECT", enc("CONNECT web:443 HTTP/1.1\r\n"), "http1"],
  ["extension method", enc("PROPFIND /d HTTP/1.1\r\n"), "http1"],
  ["bare LF still goes to the codec (which rejects it)", enc("GET / HTTP/1.1\n"), "http1"],
  ["partial method", enc("GE"), "more", "opaque"],
  ["partial target", enc("GET /abc"), "more", "http1"],
  ["partial version", enc("GET / HTTP/1"), "more", "opaque"],
  ["HTTP/2 preface", enc("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), "h2"],
  ["partial HTTP/2 preface", enc("PRI * HTTP/2.0\r\n"), "more", "opaque"],
  ["TLS ClientHello", CLIENT_HELLO, "tls"],
  ["TLS record header only", CLIENT_HELLO.subarray(0, 3), "more", "opaque"],
  ["TLS record that is not a ClientHello", new Uint8Array([0x16, 0x03, 0x03, 0, 5, 0x02]), "opaque"],
  ["SSH banner", enc("SSH-2.0-OpenSSH_9.2\r\n"), "opaque"],
  ["Redis inline command", enc("PING\r\n"), "opaque"],
  ["binary", new Uint8Array([0, 1, 2, 3]), "opaque"],
  ["space first", enc(" GET / HTTP/1.1\r\n"), "opaque"],
  ["not HTTP version", enc("GET / FTP/1.1\r\n"), "opaque"],
  ["nothing yet", new Uint8Array(0), "more", "opaque"],
];

for (const [name, bytes, expected, atEnd] of cases) {
  test(`detect: ${name}`, () => {
    assert.equal(detectProtocol(bytes), expected);
    assert.equal(detectProtocol(bytes, true), atEnd ?? expected);
  });
}

test("Detector decides once enough bytes arrive, byte by byte, and keeps every byte", () => {
  const msg = enc("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  const d = new Detector(1024);
  let result = "more";
  let i = 0;
  for (; i < msg.length && result === "more"; i++) result = d.push(msg.subarray(i, i + 1));
  assert.equal(result, "http1");
  assert.equal(i, "GET / HTTP/1.1\r".length);
  assert.deepEqual(d.bytes, msg.subarray(0, i));
});

test("Detector forces a decision at the byte limit: a long target is HTTP (the codec answers 414)", () => {
  const d = new Detector(1024);
  assert.equal(d.push(enc("GET /" + "a".repeat(600))), "more");
  assert.equal(d.push(enc("a".repeat(600))), "http1");
  assert.equal(d.bytes.length, 5 + 1200);
});

test("Detector forces opaque at the byte limit for unknown bytes, and on timeout/EOF", () => {
  const d = new Detector(16);
  assert.equal(d.push(enc("PRI * HTTP/2.0")), "more");
  assert.equal(d.finish(), "opaque");
  const e = new Detector(1024);
  e.push(enc("+OK"));
  assert.equal(e.finish(), "opaque");
});
