// A/B of a Node meshlet proxy pair speaking pooled mTLS (client outbound -> mTLS -> server inbound -> a local
// HTTP backend): this tree against a base tree, in alternating rounds, proxies pinned to CPU 1, wrk -c16 and the
// backend on CPU 0; reports req/s and the pair's CPU µs per request (from /proc), medians and the ratio.
//
//   git archive REV core adapters proto package.json tsconfig.json | tar -x -C /tmp/abase && ln -s $PWD/node_modules /tmp/abase/
//   node bench/mtls-ab-node.mjs /tmp/abase CERTDIR     # CERTDIR: ca.crt, srv.crt/.key, cli.crt/.key as bench/mtls.sh makes them
//
// Both trees run from source through tsx (the same for both), so absolute numbers differ from the bundle's.
import { spawn, execFileSync, execFile } from "node:child_process";
import { promisify } from "node:util";
const run = promisify(execFile);
import { writeFileSync, readFileSync } from "node:fs";
import http from "node:http";
import { median } from "./stats.mjs";
const [BASE, C] = process.argv.slice(2);
if (!BASE || !C) throw new Error("usage: node bench/mtls-ab-node.mjs BASEDIR CERTDIR");
const trees = { base: BASE, tree: new URL("..", import.meta.url).pathname.replace(/\/$/, "") };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const backend = http.createServer((q, r) => r.end("hello")).listen(0, "127.0.0.1");
await new Promise((r) => backend.once("listening", r));
const bport = backend.address().port;
execFileSync("taskset", ["-pc", "0", String(process.pid)]);
function cpuOf(pid) { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) * 10; }
async function start(dir, cfg, name) {
  const file = `/tmp/ab-${name}.json`; writeFileSync(file, JSON.stringify(cfg));
  const p = spawn("taskset", ["-c", "1", process.execPath, "--import", "tsx", `${dir}/adapters/node/main.ts`, "proxy", "-c", file], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = ""; p.stdout.on("data", (d) => (out += d));
  for (let i = 0; i < 200 && !out.includes('"ready"'); i++) await sleep(50);
  return { p, listeners: JSON.parse(out.split("\n").find((l) => l.includes('"ready"'))).listeners };
}
async function round(dir) {
  const srv = await start(dir, { admin: { port: 0 }, outbound: { host: "127.0.0.1", port: 0 }, accessLog: false,
    inbound: { host: "127.0.0.1", port: 0, app: `127.0.0.1:${bport}` },
    identity: { id: "spiffe://bench.local/ns/srv/sa/srv", trustAnchorsFile: `${C}/ca.crt`, certFile: `${C}/srv.crt`, keyFile: `${C}/srv.key` } }, "srv");
  const inPort = Number(srv.listeners.inbound.split(":")[1]);
  const cli = await start(dir, { admin: { port: 0 }, outbound: { host: "127.0.0.1", port: 0 }, accessLog: false,
    services: [{ name: "srv", hostnames: ["srv"], balancer: { kind: "round-robin" }, endpoints: [{ host: "127.0.0.1", port: inPort, identity: "spiffe://bench.local/ns/srv/sa/srv" }] }],
    identity: { id: "spiffe://bench.local/ns/cli/sa/cli", trustAnchorsFile: `${C}/ca.crt`, certFile: `${C}/cli.crt`, keyFile: `${C}/cli.key` } }, "cli");
  const url = `http://${cli.listeners.outbound}/hello`;
  await run("taskset", ["-c", "0", "wrk", "-t1", "-c16", "-d2s", "-H", "Host: srv", url]);
  const c0 = cpuOf(srv.p.pid) + cpuOf(cli.p.pid);
  const out = (await run("taskset", ["-c", "0", "wrk", "-t1", "-c16", "-d6s", "-H", "Host: srv", url])).stdout;
  const c1 = cpuOf(srv.p.pid) + cpuOf(cli.p.pid);
  const reqs = Number(/(\d+) requests in/.exec(out)[1]);
  const non2xx = /Non-2xx/.test(out) || reqs === 0 ? out.slice(-200) : false;
  srv.p.kill(); cli.p.kill(); await sleep(500);
  return { rps: reqs / 6, cpuUs: ((c1 - c0) * 1000) / reqs, non2xx };
}
const res = { base: [], tree: [] };
for (let i = 0; i < 4; i++) for (const k of i % 2 ? ["tree", "base"] : ["base", "tree"]) { const r = await round(trees[k]); res[k].push(r); console.log(k, JSON.stringify(r)); }
for (const k of ["base", "tree"]) console.log(k, "median rps", median(res[k].map((r) => r.rps)).toFixed(0), "cpu us/req", median(res[k].map((r) => r.cpuUs)).toFixed(1));
console.log("ratio tree/base rps", (median(res.tree.map((r) => r.rps)) / median(res.base.map((r) => r.rps))).toFixed(2), "cpu", (median(res.tree.map((r) => r.cpuUs)) / median(res.base.map((r) => r.cpuUs))).toFixed(2));
process.exit(0);
