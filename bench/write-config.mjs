#!/usr/bin/env node
// Writes the meshlet config used by bench/run.sh for one harness run.
// Usage: node bench/write-config.mjs LISTEN UPSTREAMS OUT
//   LISTEN     host:port the outbound listener binds (the harness's {LISTEN}, e.g. 127.0.0.1:18080)
//   UPSTREAMS  comma list of host:port endpoints (the harness's {UPSTREAMS})
//   OUT        the JSON file to write
// The single service answers for every Host the load generators and the harness's curl checks send
// (127.0.0.1:P, localhost:P, with or without the port), so every request is routed, round-robin.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const [listen, upstreams, out] = process.argv.slice(2);
if (!listen || !upstreams || !out) {
  process.stderr.write("usage: node bench/write-config.mjs LISTEN UPSTREAMS OUT\n");
  process.exit(2);
}

function split(addr) {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`write-config: bad address ${JSON.stringify(addr)} (want host:port)\n`);
    process.exit(2);
  }
  return { host: addr.slice(0, i), port };
}

const { host, port } = split(listen);
const endpoints = upstreams
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean)
  .map((s) => {
    split(s); // validate
    return s;
  });
if (endpoints.length === 0) {
  process.stderr.write("write-config: no upstreams\n");
  process.exit(2);
}

const config = {
  admin: { port: 0 },
  outbound: { host, port },
  services: [
    {
      name: "bench",
      hostnames: [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, "localhost"],
      endpoints,
    },
  ],
  accessLog: { enabled: false },
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(config, null, 2) + "\n");
