// RFC 7541 Appendix C.2-C.6: exact bytes both ways, and the dynamic table after every block.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { HpackDecoder } from "../../../core/http2/hpack/decoder.ts";
import { HpackEncoder, type HpackEncoderOptions } from "../../../core/http2/hpack/encoder.ts";
import type { DynamicTable } from "../../../core/http2/hpack/dynamic-table.ts";

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Entries newest first, as the RFC prints them. */
function entries(t: DynamicTable): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < t.length; i++) out.push([t.name(i), t.value(i)]);
  return out;
}

interface Step {
  headers: string[];
  hex: string;
  table: [string, string][];
  size: number;
}

/** Decodes each block and checks headers and table; encodes the same headers and checks the bytes. */
function run(steps: Step[], tableSize: number, encOpts: HpackEncoderOptions): void {
  const dec = new HpackDecoder({ maxTableSize: tableSize });
  const enc = new HpackEncoder({ maxTableSize: tableSize, represent: () => "index", ...encOpts });
  for (const [i, s] of steps.entries()) {
    assert.deepEqual(dec.decode(hex(s.hex)), s.headers, `block ${i + 1}: decoded headers`);
    assert.deepEqual(entries(dec["table"]), s.table, `block ${i + 1}: decoder table`);
    assert.equal(dec.tableSize, s.size, `block ${i + 1}: decoder table size`);
    assert.equal(toHex(enc.encode(s.headers)), toHex(hex(s.hex)), `block ${i + 1}: encoded bytes`);
    assert.deepEqual(entries(enc["table"]), s.table, `block ${i + 1}: encoder table`);
    assert.equal(enc.tableSize, s.size, `block ${i + 1}: encoder table size`);
  }
}

describe("C.2 header field representations", () => {
  test("C.2.1 literal with indexing", () => {
    run(
      [{
        headers: ["custom-key", "custom-header"],
        hex: "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        table: [["custom-key", "custom-header"]],
        size: 55,
      }],
      4096,
      { huffman: "never" },
    );
  });

  test("C.2.2 literal without indexing", () => {
    run(
      [{ headers: [":path", "/sample/path"], hex: "040c 2f73 616d 706c 652f 7061 7468", table: [], size: 0 }],
      4096,
      { huffman: "never", represent: () => "no-index" },
    );
  });

  test("C.2.3 literal never indexed", () => {
    run(
      [{ headers: ["password", "secret"], hex: "1008 7061 7373 776f 7264 0673 6563 7265 74", table: [], size: 0 }],
      4096,
      { huffman: "never", represent: () => "never-index" },
    );
  });

  test("C.2.4 indexed", () => {
    run([{ headers: [":method", "GET"], hex: "82", table: [], size: 0 }], 4096, { huffman: "never" });
  });
});

const REQUESTS = {
  headers: [
    [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
    [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
    [
      ":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com",
      "custom-key", "custom-value",
    ],
  ],
  tables: [
    [[":authority", "www.example.com"]],
    [["cache-control", "no-cache"], [":authority", "www.example.com"]],
    [["custom-key", "custom-value"], ["cache-control", "no-cache"], [":authority", "www.example.com"]],
  ] as [string, string][][],
  sizes: [57, 110, 164],
};

function requests(hexes: string[]): Step[] {
  return hexes.map((h, i) => ({ headers: REQUESTS.headers[i]!, hex: h, table: REQUESTS.tables[i]!, size: REQUESTS.sizes[i]! }));
}

describe("C.3 requests without Huffman coding", () => {
  const steps = requests([
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
  ]);
  test("C.3.1-C.3.3 with everything indexed", () => run(steps, 4096, { huffman: "never" }));
  test("the default policy makes the same choices here", () => run(steps, 4096, { huffman: "never", represent: undefined }));
});

describe("C.4 requests with Huffman coding", () => {
  const steps = requests([
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
  ]);
  test("C.4.1-C.4.3 with Huffman always", () => run(steps, 4096, { huffman: "always" }));
  test("Huffman auto picks the same (every string gets shorter)", () => run(steps, 4096, {}));
  test("the default policy makes the same choices here", () => run(steps, 4096, { represent: undefined }));
});

const DATE1 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE2 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOC = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

const RESPONSES = {
  headers: [
    [":status", "302", "cache-control", "private", "date", DATE1, "location", LOC],
    [":status", "307", "cache-control", "private", "date", DATE1, "location", LOC],
    [
      ":status", "200", "cache-control", "private", "date", DATE2, "location", LOC, "content-encoding", "gzip",
      "set-cookie", COOKIE,
    ],
  ],
  tables: [
    [["location", LOC], ["date", DATE1], ["cache-control", "private"], [":status", "302"]],
    [[":status", "307"], ["location", LOC], ["date", DATE1], ["cache-control", "private"]],
    [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE2]],
  ] as [string, string][][],
  sizes: [222, 222, 215],
};

function responses(hexes: string[]): Step[] {
  return hexes.map((h, i) => ({
    headers: RESPONSES.headers[i]!,
    hex: h,
    table: RESPONSES.tables[i]!,
    size: RESPONSES.sizes[i]!,
  }));
}

describe("C.5 responses without Huffman coding (256-octet table, evictions)", () => {
  test("C.5.1-C.5.3", () => {
    run(
      responses([
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 " +
          "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d " +
          "54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 " +
          "5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
      ]),
      256,
      { huffman: "never" },
    );
  });
});

describe("C.6 responses with Huffman coding (256-octet table, evictions)", () => {
  test("C.6.1-C.6.3", () => {
    run(
      responses([
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 " +
          "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab " +
          "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f " +
          "9587 3160 65c0 03ed 4ee5 b106 3d50 07",
      ]),
      256,
      { huffman: "always" },
    );
  });
});
