// Scratch microbenchmark: ways to make a Uint8Array view of part of a chunk (Node and Bun).
import process from "node:process";
const b = new Uint8Array(16384);
let sink = 0;
const fns: [string, (s: number, e: number) => Uint8Array][] = [
  ["subarray", (s, e) => b.subarray(s, e)],
  ["new Uint8Array(buffer)", (s, e) => new Uint8Array(b.buffer, b.byteOffset + s, e - s)],
];
for (let round = 0; round < 3; round++) {
  for (const [name, f] of fns) {
    const N = 3_000_000;
    const t0 = process.cpuUsage();
    for (let k = 0; k < N; k++) {
      const v = f(k & 1023, (k & 1023) + 40);
      sink += v.length;
    }
    const t = process.cpuUsage(t0);
    if (round === 2) console.log(`${name.padEnd(24)} ${(((t.user + t.system) * 1000) / N).toFixed(1)} ns`);
  }
}
if (sink === 1) console.log();
