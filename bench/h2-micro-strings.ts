// Scratch microbenchmark for HPACK literal decoding: ways to turn octets into a latin1 string, and a cache of
// recent strings keyed by their octets. Run on Node (npx tsx) and Bun (node_modules/.bin/bun).
import process from "node:process";

const fromCharCode = String.fromCharCode;
const td = new TextDecoder("latin1");
const samples = ["5", "nginx/1.22.1", "text/plain", "application/grpc", "Fri, 27 Nov 2026 23:59:59 GMT", "bytes", '"6565b0a3-5"', "h2load nghttp2/1.52.0"].map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0)));
const block = new Uint8Array(4096);
const spans: [number, number][] = [];
let o = 0;
for (const s of samples) {
  block.set(s, o);
  spans.push([o, o + s.length]);
  o += s.length + 3;
}

function chunk8(b: Uint8Array, start: number, end: number): string {
  let s = "";
  let i = start;
  for (; end - i >= 8; i += 8) s += fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  switch (end - i) {
    case 1: return s + fromCharCode(b[i]!);
    case 2: return s + fromCharCode(b[i]!, b[i + 1]!);
    case 3: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!);
    case 4: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!);
    case 5: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!);
    case 6: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!);
    case 7: return s + fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!);
  }
  return s;
}
const apply = (b: Uint8Array, s: number, e: number): string => fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
const textDec = (b: Uint8Array, s: number, e: number): string => td.decode(b.subarray(s, e));
const arr: number[] = [];
function applyArr(b: Uint8Array, s: number, e: number): string {
  arr.length = e - s;
  for (let i = s; i < e; i++) arr[i - s] = b[i]!;
  return fromCharCode.apply(null, arr);
}
const CACHE = 256;
const cache: string[] = new Array(CACHE).fill("");
function cached(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  let h = n;
  for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 16777619);
  const slot = (h ^ (h >>> 15)) & (CACHE - 1);
  const c = cache[slot]!;
  if (c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return c;
  }
  return (cache[slot] = chunk8(b, s, e));
}

const cache2: string[] = new Array(CACHE).fill("");
function cheap(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return "";
  const slot = (Math.imul(n ^ (b[s]! << 8) ^ (b[e - 1]! << 16) ^ b[s + (n >> 1)]!, 0x9e3779b1) >>> 24) & (CACHE - 1);
  const c = cache2[slot]!;
  if (c.length === n) {
    let i = 0;
    while (i < n && c.charCodeAt(i) === b[s + i]) i++;
    if (i === n) return c;
  }
  return (cache2[slot] = chunk8(b, s, e));
}
const MAXLEN = 64;
const cache3: string[] = new Array(CACHE).fill("");
const bytes3 = new Uint8Array(CACHE * MAXLEN);
function cheapBytes(b: Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n === 0) return "";
  const slot = (Math.imul(n ^ (b[s]! << 8) ^ (b[e - 1]! << 16) ^ b[s + (n >> 1)]!, 0x9e3779b1) >>> 24) & (CACHE - 1);
  const c = cache3[slot]!;
  const base = slot * MAXLEN;
  if (c.length === n) {
    let i = 0;
    while (i < n && bytes3[base + i] === b[s + i]) i++;
    if (i === n) return c;
  }
  for (let i = 0; i < n; i++) bytes3[base + i] = b[s + i]!;
  return (cache3[slot] = chunk8(b, s, e));
}

const fns: [string, (b: Uint8Array, s: number, e: number) => string][] = [["chunk8", chunk8], ["apply-subarray", apply], ["textdecoder", textDec], ["apply-array", applyArr], ["cache+chunk8", cached], ["cheaphash", cheap], ["cheaphash-bytes", cheapBytes]];
let sink = 0;
for (let round = 0; round < 3; round++) {
  for (const [name, f] of fns) {
    const N = 300_000;
    const t0 = process.cpuUsage();
    for (let k = 0; k < N; k++) {
      for (let j = 0; j < spans.length; j++) {
        const [s, e] = spans[j]!;
        const str = f(block, s, e);
        sink += str.length + (str.charCodeAt(0) & 1);
      }
    }
    const t = process.cpuUsage(t0);
    if (round === 2) console.log(`${name.padEnd(16)} ${(((t.user + t.system) * 1000) / (N * spans.length)).toFixed(1)} ns/string`);
  }
}
if (sink === 42) console.log("");
