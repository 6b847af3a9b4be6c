import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isLoopbackAddress } from "../../../core/admin/loopback.ts";

describe("isLoopbackAddress", () => {
  const yes = [
    "127.0.0.1",
    "127.1.2.3",
    "127.255.255.255",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "0000:0000:0000:0000:0000:0000:0000:0001",
    "::1%lo",
    "::ffff:127.0.0.1",
    "::FFFF:127.9.9.9",
    "[::ffff:127.0.0.1]",
    "0:0:0:0:0:ffff:127.0.0.1",
    "::ffff:7f00:1",
  ];
  const no = [
    "",
    "localhost",
    "10.0.0.1",
    "128.0.0.1",
    "0.0.0.0",
    "127.0.0",
    "127.0.0.1.5",
    "127.0.0.256",
    "127.0.0.1a",
    "::",
    "::2",
    "1::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "::ffff:8000:1",
    "::127.0.0.1",
    ":::1",
    "1:2:3:4:5:6:7:8:9",
    "::1::",
    "::ffff:127.0.0.999",
    "gggg::1",
  ];
  for (const h of yes) it(`accepts ${JSON.stringify(h)}`, () => assert.equal(isLoopbackAddress(h), true));
  for (const h of no) it(`rejects ${JSON.stringify(h)}`, () => assert.equal(isLoopbackAddress(h), false));
});
