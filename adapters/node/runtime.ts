// The Node runtime: node:net, node:tls, node:http, unref'd timers, process.stdout.
import type { Runtime } from "../../core/ports.ts";
import { createNodeTls } from "../shared/node-tls.ts";
import { createClock } from "../shared/unref-clock.ts";
import { createHttpServe } from "./http.ts";
import { createNet } from "./net.ts";

export interface NodeRuntime extends Runtime {
  /** Writes out buffered stdout/stderr lines (a no-op on Node: process.stdout writes synchronously to files and pipes on Linux). */
  flush(): void;
}

export function createRuntime(): NodeRuntime {
  return {
    name: "node",
    net: createNet(),
    tls: createNodeTls(),
    clock: createClock(),
    http: createHttpServe(),
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
