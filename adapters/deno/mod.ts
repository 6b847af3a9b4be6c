// `meshlet/deno`: the core API plus this runtime's ports and the ready-made proxy runner.
export * from "../../core/mod.ts";
export { createRuntime } from "./runtime.ts";
export { createMetricsRegistry } from "../shared/prometheus.ts";
export { loadConfigFile, watchConfigFile } from "../shared/config-file.ts";
