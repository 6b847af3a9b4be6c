// The Bun runtime: Bun.listen/Bun.connect, node:tls (for now), Bun.serve, unref'd timers, process.stdout.
import type { Runtime } from "../../core/ports.ts";
import { createNodeTls } from "../shared/node-tls.ts";
import { createClock } from "../shared/unref-clock.ts";
import { createHttpServe } from "./http.ts";
import { createNet } from "./net.ts";

export interface BunRuntime extends Runtime {
  /** Writes out buffered stdout/stderr lines (a no-op on Bun: lines go straight to process.stdout). */
  flush(): void;
}

export function createRuntime(): BunRuntime {
  return {
    name: "bun",
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
