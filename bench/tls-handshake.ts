// Handshake rate of the Tls port (adapters/shared/node-tls.ts): mTLS handshakes over loopback through the runtime's
// net port, rt.tls.accept (with the ClientHello as preread, as the proxy does after detection) and rt.tls.connect,
// both ends in this process. The same two config objects are used for every handshake, as between two credential
// rotations. Reports, per concurrency level, handshakes/s (wall) and CPU µs per handshake (both ends together).
//
//   npx tsx bench/tls-handshake.ts [--tls FILE] [--n 400] [--warmup 100] [--concurrency 1,16] [--json]
//   node_modules/.bin/bun bench/tls-handshake.ts ...            node_modules/.bin/deno run -A bench/tls-handshake.ts ...
//
// --tls points at a node-tls.ts to measure (default: this tree's), so two versions can be compared:
// see bench/tls-handshake-ab.mjs. Certificates (ECDSA P-256 root, server and client leaves with a URI SAN and
// DNS:localhost, so that a port without verifyServerName can be measured too) are made with openssl.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import type { Conn, Runtime, Tls, TlsClientConfig, TlsServerConfig } from "../core/ports.ts";

const here = import.meta.dirname ?? new URL(".", import.meta.url).pathname;
const args = { tls: resolve(here, "../adapters/shared/node-tls.ts"), n: 400, warmup: 100, concurrency: [1, 16], json: false };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i]!;
  const v = (): string => {
    const x = argv[++i];
    if (x === undefined) throw new Error(`${k} needs a value`);
    return x;
  };
  if (k === "--tls") args.tls = resolve(v());
  else if (k === "--n") args.n = Number(v());
  else if (k === "--warmup") args.warmup = Number(v());
  else if (k === "--concurrency") args.concurrency = v().split(",").map(Number);
  else if (k === "--json") args.json = true;
  else throw new Error(`unknown argument ${k}`);
}

const g = globalThis as { Bun?: unknown; Deno?: unknown };
const runtimeName = g.Bun !== undefined ? "bun" : g.Deno !== undefined ? "deno" : "node";
const { createRuntime } = (await import(pathToFileURL(resolve(here, `../adapters/${runtimeName}/runtime.ts`)).href)) as {
  createRuntime(): Runtime;
};
const { createNodeTls } = (await import(pathToFileURL(args.tls).href)) as { createNodeTls(): Tls };
const rt = createRuntime();
const tls = createNodeTls();

function makeCerts(): { ca: string; srv: { cert: string; key: string }; cli: { cert: string; key: string } } {
  const dir = mkdtempSync(join(tmpdir(), "meshlet-tls-bench-"));
  const ssl = (...a: string[]) => execFileSync("openssl", a, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    ssl("req", "-x509", ...ec, "-days", "1", "-subj", "/O=bench/CN=root", "-keyout", "ca.key", "-out", "ca.crt",
      "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign");
    const leaf = (name: string) => {
      writeFileSync(join(dir, `${name}.ext`),
        `subjectAltName=DNS:localhost,URI:spiffe://bench/${name}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:false\n`);
      ssl("req", ...ec, "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
      ssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1",
        "-extfile", `${name}.ext`, "-out", `${name}.crt`);
      return { cert: readFileSync(join(dir, `${name}.crt`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
    };
    return { ca: readFileSync(join(dir, "ca.crt"), "utf8"), srv: leaf("server"), cli: leaf("client") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const certs = makeCerts();
const serverCfg: TlsServerConfig = { ...certs.srv, ca: certs.ca, requestCert: true, alpn: ["h2", "http/1.1"] };
const clientCfg: TlsClientConfig = { ...certs.cli, ca: certs.ca, servername: "localhost", alpn: ["h2"], verifyServerName: false };

// Server ends by the client's port: under concurrency, handshakes do not complete in the order they started.
const serverEnds = new Map<number, { conn: Promise<Conn>; resolve(c: Conn): void }>();
function serverEnd(port: number): { conn: Promise<Conn>; resolve(c: Conn): void } {
  let e = serverEnds.get(port);
  if (e === undefined) {
    let resolve!: (c: Conn) => void;
    e = { conn: new Promise<Conn>((r) => (resolve = r)), resolve };
    serverEnds.set(port, e);
  }
  return e;
}
const l = await rt.net.listen({ host: "127.0.0.1", port: 0 }, (raw) => {
  raw.setHandlers({
    data(b) {
      raw.pause();
      tls.accept(raw, serverCfg, b).then(
        (c) => serverEnd(c.remote.port).resolve(c),
        (e) => {
          console.error("accept failed:", e);
          process.exit(1);
        },
      );
    },
    end() {},
    close() {},
  });
});
const addr = { host: "127.0.0.1", port: l.local.port };

async function handshake(): Promise<void> {
  const cli = await tls.connect(addr, clientCfg);
  const s = await serverEnd(cli.local.port).conn;
  serverEnds.delete(cli.local.port);
  if (s.tls?.authorized !== true || cli.tls?.alpn !== "h2") throw new Error("handshake did not authorize or negotiate h2");
  cli.destroy();
  s.destroy();
}

async function run(n: number, concurrency: number): Promise<{ rate: number; cpuUs: number }> {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next++ < n) await handshake();
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { rate: (n * 1000) / ms, cpuUs: (cpu.user + cpu.system) / n };
}

const out: Record<string, { rate: number; cpuUs: number }> = {};
for (const c of args.concurrency) {
  await run(args.warmup, c);
  out[`c${c}`] = await run(args.n, c);
}
await l.close();
if (args.json) console.log(JSON.stringify({ runtime: runtimeName, ...out }));
else for (const [k, v] of Object.entries(out)) console.log(`${runtimeName} ${k}: ${v.rate.toFixed(0)} handshakes/s, ${v.cpuUs.toFixed(0)} µs CPU each`);
process.exit(0);
