#!/usr/bin/env node
// Writes the meshlet config used by bench/run.sh (and bench/routing.sh, bench/h2.sh) for one harness run.
// Usage: node bench/write-config.mjs LISTEN UPSTREAMS OUT [--protocol auto|http1|h2c] [--balancer NAME]
//   LISTEN     host:port the outbound listener binds (the harness's {LISTEN}, e.g. 127.0.0.1:18080)
//   UPSTREAMS  comma list of host:port endpoints (the harness's {UPSTREAMS}, or {UPSTREAMS_H2} for h2c)
//   OUT        the JSON file to write
//   --protocol the service's `protocol` (what it speaks to the endpoints; bench/h2.sh: h2c). Default: not set
//              (the config default, auto)
//   --balancer the service's `balancer` (e.g. round-robin, as haproxy's `balance roundrobin`). Default: not set
//              (the config default, peak-ewma)
// Without the options the file is the same as before they existed.
// The single service answers for every Host the load generators and the harness's curl checks send
// (127.0.0.1:P, localhost:P, with or without the port), so every request is routed to it.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

const usage = "usage: node bench/write-config.mjs LISTEN UPSTREAMS OUT [--protocol auto|http1|h2c] [--balancer NAME]\n";
const positional = [];
const opts = {};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const m = /^--(protocol|balancer)(?:=(.*))?$/.exec(a);
  if (m) {
    const v = m[2] ?? argv[++i];
    if (!v) {
      process.stderr.write(`write-config: ${a} needs a value\n` + usage);
      process.exit(2);
    }
    opts[m[1]] = v;
  } else if (a.startsWith("--")) {
    process.stderr.write(`write-config: unknown option ${a}\n` + usage);
    process.exit(2);
  } else positional.push(a);
}
const [listen, upstreams, out] = positional;
if (!listen || !upstreams || !out || positional.length > 3) {
  process.stderr.write(usage);
  process.exit(2);
}
if (opts.protocol && !["auto", "http1", "h2c"].includes(opts.protocol)) {
  process.stderr.write(`write-config: bad --protocol ${JSON.stringify(opts.protocol)} (auto, http1 or h2c)\n`);
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

const service = {
  name: "bench",
  hostnames: [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, "localhost"],
  endpoints,
};
if (opts.protocol) service.protocol = opts.protocol;
if (opts.balancer) service.balancer = opts.balancer;
const config = {
  admin: { port: 0 },
  outbound: { host, port },
  services: [service],
  accessLog: { enabled: false },
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(config, null, 2) + "\n");
