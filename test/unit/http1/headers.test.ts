// Header helpers: lookup and hop-by-hop stripping.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodeLatin1, getHeader, getHeaderAll, stripHopByHop } from "../../../core/http1/headers.ts";

describe("getHeader", () => {
  const h = ["Host", "a", "X-Dup", "1", "x-dup", "2"];
  test("case-insensitive, first value", () => {
    assert.equal(getHeader(h, "host"), "a");
    assert.equal(getHeader(h, "x-dup"), "1");
    assert.equal(getHeader(h, "missing"), undefined);
    assert.deepEqual(getHeaderAll(h, "x-dup"), ["1", "2"]);
  });
});

describe("stripHopByHop", () => {
  const cases: { name: string; in: string[]; keepUpgrade?: boolean; out: string[] }[] = [
    {
      name: "fixed hop-by-hop fields",
      in: [
        "Host", "h", "Connection", "keep-alive", "Keep-Alive", "timeout=5", "TE", "trailers", "Trailer", "X-T",
        "Transfer-Encoding", "chunked", "Upgrade", "websocket", "Proxy-Connection", "keep-alive",
        "Proxy-Authorization", "Basic x", "Proxy-Authenticate", "Basic", "Content-Length", "5", "Accept", "*/*",
      ],
      out: ["Host", "h", "Content-Length", "5", "Accept", "*/*"],
    },
    {
      name: "fields named by Connection (any case, several lines)",
      in: ["connection", "X-A, close", "X-a", "1", "X-B", "2", "CONNECTION", "x-b", "X-C", "3"],
      out: ["X-C", "3"],
    },
    {
      name: "Connection cannot strip Host or Content-Length",
      in: ["Connection", "host, content-length, x-z", "Host", "h", "Content-Length", "1", "X-Z", "z"],
      out: ["Host", "h", "Content-Length", "1"],
    },
    {
      name: "keepUpgrade keeps Upgrade and a single Connection: upgrade in place",
      in: ["Host", "h", "Connection", "Upgrade, X-Hop", "Upgrade", "websocket", "X-Hop", "1", "Sec-WebSocket-Key", "k", "Connection", "keep-alive"],
      keepUpgrade: true,
      out: ["Host", "h", "Connection", "upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"],
    },
    {
      name: "keepUpgrade without a Connection field appends one",
      in: ["Upgrade", "websocket"],
      keepUpgrade: true,
      out: ["Upgrade", "websocket", "Connection", "upgrade"],
    },
    {
      name: "without keepUpgrade the Upgrade field goes",
      in: ["Connection", "upgrade", "Upgrade", "websocket", "X", "1"],
      out: ["X", "1"],
    },
    { name: "nothing to strip", in: ["A", "1", "Cookie", "c", "Pragma", "p", "Te-Not", "x"], out: ["A", "1", "Cookie", "c", "Pragma", "p", "Te-Not", "x"] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const before = [...c.in];
      assert.deepEqual(stripHopByHop(c.in, c.keepUpgrade ?? false), c.out);
      assert.deepEqual(c.in, before, "input not modified");
    });
  }
});

describe("encodeLatin1", () => {
  test("one byte per char; non-latin1 throws", () => {
    assert.deepEqual([...encodeLatin1("A\xe9\xff")], [0x41, 0xe9, 0xff]);
    assert.throws(() => encodeLatin1("\u0100"), TypeError);
  });
});
