// HPACK Huffman coding: the Appendix B table, the RFC vectors, round trips and every decoding error.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS } from "../../../core/http2/hpack/huffman-table.ts";
import {
  huffmanDecode,
  huffmanDecodedMax,
  huffmanEncode,
  huffmanEncodedLength,
} from "../../../core/http2/hpack/huffman.ts";
import { HpackError } from "../../../core/http2/hpack/errors.ts";
import { mulberry32 } from "../../support/prng.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function encode(s: string): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(s));
  assert.equal(huffmanEncode(s, out, 0), out.length);
  return out;
}

function decode(b: Uint8Array): string {
  const dst = new Uint8Array(huffmanDecodedMax(b.length));
  const n = huffmanDecode(b, 0, b.length, dst);
  return String.fromCharCode(...dst.subarray(0, n));
}

/** Packs codes (and raw bit strings) MSB first, for building invalid inputs. */
function bits(...parts: (number | string)[]): Uint8Array {
  let s = "";
  for (const p of parts) s += typeof p === "number" ? HUFFMAN_CODES[p]!.toString(2).padStart(HUFFMAN_LENGTHS[p]!, "0") : p;
  assert.equal(s.length % 8, 0, "whole octets");
  return Uint8Array.from(s.match(/.{8}/g) ?? [], (b) => parseInt(b, 2));
}

const badHuffman = (e: unknown) => e instanceof HpackError && e.code === "BAD_HUFFMAN";

describe("Appendix B table", () => {
  test("257 codes, canonical, complete, with EOS = 30 ones", () => {
    assert.equal(HUFFMAN_CODES.length, 257);
    assert.equal(HUFFMAN_LENGTHS.length, 257);
    assert.equal(HUFFMAN_CODES[EOS], 0x3fffffff);
    assert.equal(HUFFMAN_LENGTHS[EOS], 30);
    const order = [...HUFFMAN_LENGTHS.keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
    let code = 0;
    let len = 0;
    let kraft = 0;
    for (const sym of order) {
      const l = HUFFMAN_LENGTHS[sym]!;
      code *= 2 ** (l - len);
      len = l;
      assert.equal(HUFFMAN_CODES[sym], code, `symbol ${sym}`);
      code++;
      kraft += 2 ** -l;
    }
    assert.equal(kraft, 1);
  });

  test("spot checks against the printed table", () => {
    const known: [number, number, number][] = [
      [0x30, 0x0, 5], [0x20, 0x14, 6], [0x3a, 0x5c, 7], [0x7a, 0x7b, 7], [0x26, 0xf8, 8], [0x00, 0x1ff8, 13],
      [0x5c, 0x7fff0, 19], [0x80, 0xfffe6, 20], [0x01, 0x7fffd8, 23], [0xff, 0x3ffffee, 26], [0x0a, 0x3ffffffc, 30],
      [0x0d, 0x3ffffffd, 30], [0x16, 0x3ffffffe, 30], [0xdc, 0xffffffd, 28],
    ];
    for (const [sym, code, len] of known) {
      assert.equal(HUFFMAN_CODES[sym], code, `code of ${sym}`);
      assert.equal(HUFFMAN_LENGTHS[sym], len, `length of ${sym}`);
    }
  });
});

describe("RFC 7541 C.4 and C.6 strings", () => {
  const vectors: [string, string][] = [
    ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
    ["no-cache", "a8eb 1064 9cbf"],
    ["custom-key", "25a8 49e9 5ba9 7d7f"],
    ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
    ["302", "6402"],
    ["307", "640e ff"],
    ["private", "aec3 771a 4b"],
    ["Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
    ["Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"],
    ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
    ["gzip", "9bd9 ab"],
    [
      "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
      "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ],
  ];
  for (const [plain, coded] of vectors) {
    test(JSON.stringify(plain), () => {
      assert.equal(huffmanEncodedLength(plain), hex(coded).length);
      assert.equal(toHex(encode(plain)), toHex(hex(coded)));
      assert.equal(decode(hex(coded)), plain);
    });
  }
});

describe("round trips", () => {
  test("every octet value, alone and all together", () => {
    let all = "";
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c);
      all += s;
      assert.equal(decode(encode(s)), s, `octet ${c}`);
      assert.equal(decode(encode(s + s + s)), s + s + s, `octet ${c} x3`);
    }
    assert.equal(decode(encode(all)), all);
    const reversed = [...all].reverse().join("");
    assert.equal(decode(encode(reversed)), reversed);
  });

  test("the empty string is zero octets", () => {
    assert.equal(huffmanEncodedLength(""), 0);
    assert.equal(decode(new Uint8Array(0)), "");
  });

  test("random strings (seeded), header-like and arbitrary octets", () => {
    const rnd = mulberry32(7541);
    const alphabets = [
      "abcdefghijklmnopqrstuvwxyz0123456789-_./:;=, ",
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ{}[]<>|\\^~`!\"#$%&'()*+?@",
      null, // any octet
    ];
    for (let i = 0; i < 3000; i++) {
      const alpha = alphabets[i % alphabets.length];
      const len = Math.floor(rnd() * (i % 10 === 0 ? 2000 : 80));
      let s = "";
      for (let j = 0; j < len; j++) {
        s += alpha === null ? String.fromCharCode(Math.floor(rnd() * 256)) : alpha[Math.floor(rnd() * alpha.length)];
      }
      const coded = encode(s);
      let bitsLen = 0;
      for (let j = 0; j < s.length; j++) bitsLen += HUFFMAN_LENGTHS[s.charCodeAt(j)]!;
      assert.equal(coded.length, Math.ceil(bitsLen / 8));
      assert.equal(decode(coded), s);
    }
  });

  test("decoding a slice of a larger buffer", () => {
    const coded = encode("custom-value");
    const big = new Uint8Array(coded.length + 6);
    big.set(coded, 3);
    const dst = new Uint8Array(huffmanDecodedMax(coded.length));
    const n = huffmanDecode(big, 3, 3 + coded.length, dst);
    assert.equal(String.fromCharCode(...dst.subarray(0, n)), "custom-value");
  });

  test("encoding at an offset leaves the bytes before alone", () => {
    const out = new Uint8Array(10).fill(0xaa);
    const end = huffmanEncode("302", out, 4);
    assert.equal(end, 6);
    assert.equal(toHex(out.subarray(0, 7)), "aaaaaaaa6402aa");
  });

  test("non-latin1 text is a TypeError", () => {
    assert.throws(() => huffmanEncodedLength("caf\u20ac"), TypeError);
  });
});

/** A bit-by-bit reference decoder straight from the table: the decoded string, or null for an invalid input. */
function referenceDecode(b: Uint8Array): string | null {
  const byCode = new Map<string, number>();
  for (let sym = 0; sym <= EOS; sym++) byCode.set(HUFFMAN_CODES[sym]!.toString(2).padStart(HUFFMAN_LENGTHS[sym]!, "0"), sym);
  let out = "";
  let pending = "";
  for (const byte of b) {
    for (const bit of byte.toString(2).padStart(8, "0")) {
      pending += bit;
      const sym = byCode.get(pending);
      if (sym === EOS) return null;
      if (sym !== undefined) {
        out += String.fromCharCode(sym);
        pending = "";
      }
    }
  }
  return pending.length <= 7 && !pending.includes("0") ? out : null;
}

describe("decoder against a bit-by-bit reference", () => {
  test("random octet strings (seeded), valid or not", () => {
    const rnd = mulberry32(5);
    let valid = 0;
    for (let i = 0; i < 3000; i++) {
      // Mostly the encoding of a random string, sometimes damaged, sometimes pure noise.
      let input: Uint8Array;
      const mode = i % 3;
      if (mode === 2) {
        input = Uint8Array.from({ length: Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256));
      } else {
        let s = "";
        const len = Math.floor(rnd() * 30);
        for (let j = 0; j < len; j++) s += String.fromCharCode(rnd() < 0.8 ? 0x20 + Math.floor(rnd() * 95) : Math.floor(rnd() * 256));
        input = encode(s);
        if (mode === 1 && input.length > 0) input[Math.floor(rnd() * input.length)] ^= 1 << Math.floor(rnd() * 8);
      }
      const want = referenceDecode(input);
      let got: string | null;
      try {
        got = decode(input);
      } catch (e) {
        assert.ok(badHuffman(e));
        got = null;
      }
      assert.equal(got, want, `input ${toHex(input)}`);
      if (want !== null) valid++;
    }
    assert.ok(valid > 1500, `${valid} valid inputs`);
  });
});

describe("decoding errors (RFC 7541 §5.2)", () => {
  const a = 0x61;
  const zero = 0x30;
  const cases: { name: string; input: Uint8Array }[] = [
    { name: "EOS alone (30 ones + 2 padding ones)", input: bits(EOS, "11") },
    { name: "EOS after a symbol", input: bits(a, EOS, "11111") },
    { name: "EOS between symbols", input: bits(a, EOS, a) },
    { name: "padding of 8 ones", input: hex("ff") },
    { name: "a symbol then 11 padding ones", input: bits(zero, "11111111111") },
    { name: "a full octet of padding after whole symbols", input: bits(zero, "111", "11111111") },
    { name: "padding with a zero bit", input: bits(zero, "000") },
    { name: "padding 101", input: bits(zero, "101") },
    { name: "padding ending in 0", input: bits(zero, "110") },
    { name: "16 ones: a long code cut short", input: bits("1111111111111111") },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => decode(c.input), badHuffman);
    });
  }

  test("valid padding of 1 to 7 ones is accepted", () => {
    assert.equal(decode(bits(a, "111")), "a"); // 5 + 3
    assert.equal(decode(bits(0x20, "11")), " "); // 6 + 2
    assert.equal(decode(bits(0x3a, "1")), ":"); // 7 + 1
    assert.equal(decode(bits(0x26)), "&"); // 8, no padding
    assert.equal(decode(bits(0x26, zero, "111")), "&0"); // 8 + 5 + 3
  });
});
