// Shared by the config tests: parse a config expecting success (and that its routes compile) or errors.
import assert from "node:assert/strict";
import { formatConfigIssues, parseConfig, parseConfigText, type ConfigIssue } from "../../../core/config/mod.ts";
import type { MeshletConfig } from "../../../core/config/types.ts";
import { compileRoutes } from "../../../core/routing/match.ts";

/** A valid config from an object or YAML/JSON text; callers parsing YAML must `await loadYamlSupport()` first. */
export function ok(input: unknown): MeshletConfig {
  const r = typeof input === "string" ? parseConfigText(input) : parseConfig(input);
  if (!r.ok) assert.fail(`expected a valid config, got:\n${formatConfigIssues(r.errors)}`);
  // Every config that parses must compile (core/routing/match.ts throws on what the schema must reject).
  assert.doesNotThrow(() => compileRoutes(r.config.routes));
  return r.config;
}

export function errors(input: unknown): ConfigIssue[] {
  const r = typeof input === "string" ? parseConfigText(input, "test.yaml") : parseConfig(input);
  if (r.ok) assert.fail("expected errors, the config was valid");
  return r.errors;
}

/** The single issue at `path`; fails when there is none or more than one. */
export function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path}, got: ${JSON.stringify(issues, null, 1)}`);
  return found[0]!;
}
