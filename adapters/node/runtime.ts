// The Node runtime: node:net, node:tls, node:http, unref'd timers, process.stdout.
import { createProcessRuntime, type ProcessRuntime } from "../shared/process-runtime.ts";
import { createHttpServe } from "./http.ts";
import { createNet } from "./net.ts";

export type NodeRuntime = ProcessRuntime;

export function createRuntime(): NodeRuntime {
  return createProcessRuntime("node", createNet(), createHttpServe());
}
