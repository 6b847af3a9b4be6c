// Flow control: automatic pause after each message, resume, retained bytes, takeRemainder, finish, inMessage.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RequestParser, ResponseParser } from "../../../core/http1/parser.ts";
import type { HeaderList, Http1Error, RequestHead, ResponseHead } from "../../../core/http1/types.ts";
import { bytes, str } from "./helpers.ts";

/** A parser with a log of events as short strings. */
function req() {
  const log: string[] = [];
  const hooks: { head?: () => void; body?: () => void; end?: () => void } = {};
  const p = new RequestParser({
    onHead(h: RequestHead) {
      log.push(`head ${h.method} ${h.target}`);
      hooks.head?.();
    },
    onBody(b: Uint8Array) {
      log.push(`body ${str(b)}`);
      hooks.body?.();
    },
    onEnd(t: HeaderList | null) {
      log.push(t === null ? "end" : `end ${t.join(",")}`);
      hooks.end?.();
    },
    onError(e: Http1Error) {
      log.push(`error ${e.code}`);
    },
  });
  return { p, log, hooks };
}

function res() {
  const log: string[] = [];
  const hooks: { end?: () => void } = {};
  const p = new ResponseParser({
    onHead(h: ResponseHead) {
      log.push(`head ${h.status} ${h.bodyKind}`);
    },
    onBody(b: Uint8Array) {
      log.push(`body ${str(b)}`);
    },
    onEnd() {
      log.push("end");
      hooks.end?.();
    },
    onError(e: Http1Error) {
      log.push(`error ${e.code}`);
    },
  });
  return { p, log, hooks };
}

describe("automatic pause after each message", () => {
  test("a pipelined second request is retained until resume()", () => {
    const { p, log } = req();
    p.execute(bytes("GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"));
    assert.deepEqual(log, ["head GET /1", "end"]);
    assert.equal(p.inMessage, false);
    p.resume();
    assert.deepEqual(log, ["head GET /1", "end", "head POST /2", "body abc", "end"]);
  });

  test("bytes fed while paused are kept in order", () => {
    const { p, log } = req();
    p.execute(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HT"));
    p.execute(bytes("TP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n"));
    p.execute(bytes("\r\n"));
    assert.deepEqual(log, ["head GET /1", "end"]);
    p.resume();
    assert.deepEqual(log.slice(2), ["head GET /2", "end"]);
    p.resume();
    assert.deepEqual(log.slice(4), ["head GET /3", "end"]);
    p.resume(); // nothing left
    assert.equal(log.length, 6);
  });

  test("resume() from inside onEnd continues synchronously", () => {
    const { p, log, hooks } = req();
    hooks.end = () => p.resume();
    p.execute(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"));
    assert.deepEqual(log, ["head GET /1", "end", "head GET /2", "end"]);
  });

  test("the parser is not paused by a head: next chunk continues the body", () => {
    const { p, log } = req();
    p.execute(bytes("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab"));
    p.execute(bytes("cd"));
    assert.deepEqual(log, ["head POST /", "body ab", "body cd", "end"]);
  });

  test("response parser: expect() then resume() for the next response", () => {
    const { p, log } = res();
    p.expect("HEAD");
    p.execute(bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
    assert.deepEqual(log, ["head 200 none", "end"]);
    p.expect("GET");
    p.resume();
    assert.deepEqual(log, ["head 200 none", "end", "head 200 length", "body abc", "end"]);
  });
});

describe("pause() from handlers", () => {
  test("pause in onHead holds the body (and the end of a bodyless message)", () => {
    const { p, log, hooks } = req();
    hooks.head = () => p.pause();
    p.execute(bytes("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nxy"));
    assert.deepEqual(log, ["head POST /"]);
    assert.equal(p.inMessage, true);
    hooks.head = undefined;
    p.resume();
    assert.deepEqual(log, ["head POST /", "body xy", "end"]);

    const b = req();
    b.hooks.head = () => b.p.pause();
    b.p.execute(bytes("GET / HTTP/1.1\r\n\r\n"));
    assert.deepEqual(b.log, ["head GET /"]);
    b.p.resume();
    assert.deepEqual(b.log, ["head GET /", "end"]);
  });

  test("pause in onBody (backpressure) stops after that piece; later input is retained", () => {
    const { p, log, hooks } = req();
    hooks.body = () => p.pause();
    p.execute(bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"));
    assert.deepEqual(log, ["head POST /", "body a"]);
    p.execute(bytes("GET /next HTTP/1.1\r\n\r\n"));
    assert.deepEqual(log, ["head POST /", "body a"]);
    p.resume();
    assert.deepEqual(log, ["head POST /", "body a", "body b"]);
    hooks.body = undefined;
    p.resume();
    assert.deepEqual(log.slice(3), ["end"]);
    p.resume();
    assert.deepEqual(log.slice(4), ["head GET /next", "end"]);
  });

  test("pause() outside a handler retains input", () => {
    const { p, log } = req();
    p.pause();
    p.execute(bytes("GET / HTTP/1.1\r\n\r\n"));
    assert.deepEqual(log, []);
    p.resume();
    assert.deepEqual(log, ["head GET /", "end"]);
  });

  test("retained bytes are copies: the caller may reuse its buffer", () => {
    const { p, log } = req();
    const buf = bytes("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
    p.execute(buf);
    buf.fill(0);
    p.resume();
    assert.deepEqual(log, ["head GET /1", "end", "head GET /2", "end"]);
  });
});

describe("protocol switches and takeRemainder()", () => {
  test("Upgrade request: stays paused, remainder is the tunnel data", () => {
    const { p, log } = req();
    p.execute(bytes("GET /ws HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"));
    p.execute(bytes("more"));
    assert.deepEqual(log, ["head GET /ws", "end"]);
    assert.equal(str(p.takeRemainder()), "\x81\x05hellomore");
    assert.throws(() => p.execute(bytes("x")));
    p.resume();
    p.finish();
    assert.equal(log.length, 2);
  });

  test("CONNECT: the bytes after the head (even with Content-Length) are tunnel data", () => {
    const { p, log } = req();
    p.execute(bytes("CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\nContent-Length: 3\r\n\r\n\x00\x01\x02\x03"));
    assert.deepEqual(log, ["head CONNECT db:5432", "end"]);
    assert.deepEqual([...p.takeRemainder()], [0, 1, 2, 3]);
  });

  test("takeRemainder() inside onEnd returns the rest of the current chunk", () => {
    const { p, hooks } = req();
    let rest: Uint8Array | null = null;
    hooks.end = () => {
      rest = p.takeRemainder();
    };
    p.execute(bytes("CONNECT a:1 HTTP/1.1\r\n\r\nTUNNEL"));
    assert.equal(str(rest!), "TUNNEL");
  });

  test("takeRemainder() with nothing left is empty", () => {
    const { p } = req();
    p.execute(bytes("CONNECT a:1 HTTP/1.1\r\n\r\n"));
    assert.equal(p.takeRemainder().length, 0);
  });

  test("a declined upgrade: resume() keeps parsing HTTP", () => {
    const { p, log } = req();
    p.execute(bytes("GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"));
    p.resume();
    assert.deepEqual(log, ["head GET /", "end", "head GET /2", "end"]);
  });

  test("101 response: remainder is the upstream's tunnel data", () => {
    const { p, log } = res();
    p.execute(bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n\x81\x00"));
    assert.deepEqual(log, ["head 101 none", "end"]);
    assert.deepEqual([...p.takeRemainder()], [0x81, 0]);
  });

  test("2xx to CONNECT: tunnel, even with a Content-Length or chunked", () => {
    for (const extra of ["", "Content-Length: 10\r\n", "Transfer-Encoding: chunked\r\n"]) {
      const { p, log } = res();
      p.expect("CONNECT");
      p.execute(bytes(`HTTP/1.1 200 Connection Established\r\n${extra}\r\nSSH-2.0`));
      assert.deepEqual(log, ["head 200 none", "end"]);
      assert.equal(str(p.takeRemainder()), "SSH-2.0");
    }
  });
});

describe("finish() and inMessage", () => {
  test("request: EOF mid-head, mid-body -> TRUNCATED 400; between messages -> nothing", () => {
    for (const [input, expected] of [
      ["GET / HTTP/1.1\r\nHost", ["error TRUNCATED"]],
      ["POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", ["head POST /", "body ab", "error TRUNCATED"]],
      ["GET / HTTP/1.1\r\n\r\n", ["head GET /", "end"]],
      ["", []],
      ["\r\n", []],
    ] as const) {
      const { p, log } = req();
      p.execute(bytes(input));
      p.finish();
      assert.deepEqual(log, expected, input);
    }
  });

  test("request error status on truncation is 400", () => {
    let status = 0;
    const p = new RequestParser({
      onHead() {},
      onBody() {},
      onEnd() {},
      onError(e) {
        status = e.status;
      },
    });
    p.execute(bytes("GET"));
    p.finish();
    assert.equal(status, 400);
  });

  test("finish() while paused: a retained partial request is reported on resume", () => {
    const { p, log } = req();
    p.execute(bytes("GET /1 HTTP/1.1\r\n\r\nGET /2"));
    p.finish();
    assert.deepEqual(log, ["head GET /1", "end"]);
    p.resume();
    assert.deepEqual(log, ["head GET /1", "end", "error TRUNCATED"]);
  });

  test("finish() while paused in a close-delimited body ends it after the retained bytes", () => {
    const log: string[] = [];
    // eslint-disable-next-line prefer-const
    let p: ResponseParser;
    let pauseOnBody = true;
    p = new ResponseParser({
      onHead() {},
      onBody(b) {
        log.push(str(b));
        if (pauseOnBody) p.pause();
      },
      onEnd() {
        log.push("end");
      },
      onError(e) {
        log.push(e.code);
      },
    });
    p.execute(bytes("HTTP/1.1 200 OK\r\n\r\nab"));
    p.execute(bytes("cd"));
    p.finish();
    assert.deepEqual(log, ["ab"]);
    pauseOnBody = false;
    p.resume();
    assert.deepEqual(log, ["ab", "cd", "end"]);
  });

  test("inMessage through a message's life", () => {
    const { p } = req();
    assert.equal(p.inMessage, false);
    p.execute(bytes("POST / HTTP/1.1\r\n"));
    assert.equal(p.inMessage, true);
    p.execute(bytes("Content-Length: 2\r\n\r\na"));
    assert.equal(p.inMessage, true);
    p.execute(bytes("b"));
    assert.equal(p.inMessage, false);
  });

  test("errors disable everything", () => {
    const { p, log } = req();
    p.execute(bytes("GET / HTTP/9.9\r\n\r\n"));
    assert.equal(p.inMessage, false);
    p.execute(bytes("GET / HTTP/1.1\r\n\r\n"));
    p.resume();
    p.finish();
    assert.deepEqual(log, ["error BAD_VERSION"]);
  });
});
