// The field bits the HPACK decoder works out while decoding (field-flags.ts) against the rules of RFC 9113 §8.2.1
// written as regular expressions, for every octet at the start, middle and end of names and values, raw and
// Huffman-coded, as literals and again from the dynamic table; and the same bits worked out from strings.

import { test } from "node:test";
import assert from "node:assert/strict";
import { HpackDecoder } from "../../../core/http2/hpack/decoder.ts";
import { HpackEncoder } from "../../../core/http2/hpack/encoder.ts";
import { fieldFlags, NAME_OK, PSEUDO, SENSITIVE, SPECIAL, VALUE_OK } from "../../../core/http2/hpack/field-flags.ts";
import { STATIC_NAMES, STATIC_TABLE_LENGTH, STATIC_VALUES } from "../../../core/http2/hpack/static-table.ts";

const NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;
const SPECIAL_NAMES = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "content-length", "host"]);
const SENSITIVE_NAMES = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

function expected(name: string, value: string): number {
  let f = BAD_VALUE.test(value) ? 0 : VALUE_OK;
  if (name.charCodeAt(0) === 0x3a) f |= PSEUDO;
  else if (NAME.test(name)) f |= NAME_OK | (SPECIAL_NAMES.has(name) ? SPECIAL : 0) | (SENSITIVE_NAMES.has(name) ? SENSITIVE : 0);
  return f;
}

const chr = (c: number) => String.fromCharCode(c);
const fields: string[] = [];
for (let c = 0; c < 256; c++) {
  const x = chr(c);
  fields.push(x, "v", `${x}ab`, "v", `a${x}b`, "v", `ab${x}`, "v");
  fields.push("x-v", x, "x-v", `${x}ab`, "x-v", `a${x}b`, "x-v", `ab${x}`);
}
fields.push("", "", ":path", "/", ":path", " /", ":x", "y", "host", "h", "te", "trailers", "connection", "close", "Host", "h");
fields.push("cookie", "a=1; b=2", "authorization", "Bearer abcdefgh", "x-custom-cookie", "c", "set-cookie", "id=1 ");
fields.push("content-length", "1", "x-long", "a".repeat(100), "x-long", `${"a".repeat(100)}\r`, "x-long-bad", `${"\u00e9".repeat(300)} `);

test("the decoder's field bits match the §8.2.1 rules, raw and Huffman, literal and indexed", () => {
  for (const huffman of ["never", "always"] as const) {
    for (const represent of ["index", "no-index"] as const) {
      const enc = new HpackEncoder({ huffman, represent: () => represent, maxTableSize: 65536, preferredTableSize: 65536 });
      const dec = new HpackDecoder({ maxTableSize: 65536, maxHeaderListSize: 1 << 24 });
      dec.setMaxTableSize(65536);
      // Twice: the second block takes indexed fields from the dynamic table (with "index").
      for (let round = 0; round < 2; round++) {
        const out = dec.decode(enc.encode(fields));
        assert.deepEqual(out, fields);
        for (let i = 0; i < fields.length; i += 2) {
          const want = expected(fields[i]!, fields[i + 1]!);
          assert.equal(dec.fieldFlags[i >> 1], want, `${huffman} ${represent} round ${round}: ${JSON.stringify([fields[i], fields[i + 1]])}`);
        }
      }
    }
  }
});

test("a value repeated through the literal cache keeps its own bits; names from a table keep theirs", () => {
  const enc = new HpackEncoder({ represent: () => "no-index" });
  const dec = new HpackDecoder();
  const list = ["x-a", "same", "X-B", "same", "x-c", "same ", "x-a", " same", "date", "same"];
  for (let round = 0; round < 3; round++) {
    dec.decode(enc.encode(list));
    for (let i = 0; i < list.length; i += 2) assert.equal(dec.fieldFlags[i >> 1], expected(list[i]!, list[i + 1]!));
  }
});

test("fieldFlags() on strings agrees, static table included", () => {
  for (let i = 0; i < fields.length; i += 2) assert.equal(fieldFlags(fields[i]!, fields[i + 1]!), expected(fields[i]!, fields[i + 1]!));
  for (let i = 1; i <= STATIC_TABLE_LENGTH; i++) {
    assert.equal(fieldFlags(STATIC_NAMES[i]!, STATIC_VALUES[i]!), expected(STATIC_NAMES[i]!, STATIC_VALUES[i]!));
  }
  assert.equal(fieldFlags("x", "\u0100"), VALUE_OK | NAME_OK);
  assert.equal(fieldFlags("\u0161", "v"), VALUE_OK);
});

test("decode(block, true) keeps pseudo-headers apart, with their bits and the first one after a regular field", () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  const req = [":method", "GET", ":scheme", "http", ":path", " /x", "x-a", "1", "Bad", "2"];
  assert.deepEqual(dec.decode(enc.encode(req), true), ["x-a", "1", "Bad", "2"]);
  assert.equal(dec.pseudoCount, 3);
  assert.deepEqual(dec.pseudoFields.slice(0, 6), req.slice(0, 6));
  assert.deepEqual([...dec.pseudoFlags.subarray(0, 3)], [PSEUDO | VALUE_OK, PSEUDO | VALUE_OK, PSEUDO]);
  assert.deepEqual([...dec.fieldFlags.subarray(0, 2)], [NAME_OK | VALUE_OK, VALUE_OK]);
  assert.equal(dec.misplacedPseudo, "");

  const bad = ["x-a", "1", ":status", "200", ":path", "/"];
  assert.deepEqual(dec.decode(enc.encode(bad), true), ["x-a", "1"]);
  assert.equal(dec.pseudoCount, 2);
  assert.equal(dec.misplacedPseudo, ":status");

  // Without split every field is in the list, in order; the pseudo-header state is reset.
  assert.deepEqual(dec.decode(enc.encode(bad)), bad);
  assert.equal(dec.pseudoCount, 0);
  assert.equal(dec.misplacedPseudo, "");
  assert.deepEqual([...dec.fieldFlags.subarray(0, 3)], [NAME_OK | VALUE_OK, PSEUDO | VALUE_OK, PSEUDO | VALUE_OK]);
});
