// The Runtime shape shared by Node and Bun: their own net and HTTP server, node:tls, unref'd timers, process stdio.
import type { HttpServe, Net, Runtime } from "../../core/ports.ts";
import { createNodeTls } from "./node-tls.ts";
import { createClock } from "./unref-clock.ts";

export interface ProcessRuntime extends Runtime {
  /** Writes out buffered stdout/stderr lines: a no-op here, process.stdout writes go straight out. */
  flush(): void;
}

export function createProcessRuntime(name: "node" | "bun", net: Net, http: HttpServe): ProcessRuntime {
  return {
    name,
    net,
    tls: createNodeTls(),
    clock: createClock(),
    http,
    random: Math.random,
    stdout(line) {
      process.stdout.write(line + "\n");
    },
    stderr(line) {
      process.stderr.write(line + "\n");
    },
    flush() {},
  };
}
