// The Deno runtime: Deno.listen/Deno.connect, node:tls (Deno's TLS server cannot request client
// certificates), Deno.serve, unref'd timers, batched stdout/stderr.
import type { Runtime } from "../../core/ports.ts";
import { createNodeTls } from "../shared/node-tls.ts";
import { createClock } from "./clock.ts";
import { createHttpServe } from "./http.ts";
import { createNet } from "./net.ts";
import { createStdio } from "./stdio.ts";

export interface DenoRuntime extends Runtime {
  /** Writes out batched stdout/stderr lines now (also done on the next tick and at `unload`). */
  flush(): void;
}

export function createRuntime(): DenoRuntime {
  const stdio = createStdio();
  return {
    name: "deno",
    net: createNet(),
    tls: createNodeTls(),
    clock: createClock(),
    http: createHttpServe(),
    random: Math.random,
    stdout: (line) => stdio.out.push(line),
    stderr: (line) => stdio.err.push(line),
    flush: stdio.flush,
  };
}
