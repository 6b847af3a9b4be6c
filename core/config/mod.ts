// The config module: the file-format schema, parsing/validation with field paths, and the config types.

export type { ListenerProtocol, MeshletConfig, PoolConfig, ServiceConfig } from "./types.ts";
export { ConfigSchema, DEFAULTS } from "./schema.ts";
export { formatConfigIssues, formatPath, loadYamlSupport, parseConfig, parseConfigSource, parseConfigText } from "./parse.ts";
export type { ConfigIssue, ConfigResult } from "./parse.ts";
export { MAX_DURATION_MS, parseDuration } from "./values.ts";
