// The Bun runtime: Bun.listen/Bun.connect, node:tls (for now), Bun.serve, unref'd timers, process.stdout.
import { createProcessRuntime, type ProcessRuntime } from "../shared/process-runtime.ts";
import { createHttpServe } from "./http.ts";
import { createNet } from "./net.ts";

export type BunRuntime = ProcessRuntime;

export function createRuntime(): BunRuntime {
  return createProcessRuntime("bun", createNet(), createHttpServe());
}
