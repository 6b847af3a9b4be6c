// parseConfig(unknown) and parseConfigText(text): the config boundary. Errors list every bad field by path
// ("services[1].endpoints[0]") with what was expected and what was received; from text, also line and column.

import * as v from "valibot";
import type { Document } from "yaml";
import { ConfigSchema } from "./schema.ts";
import type { MeshletConfig } from "./types.ts";

export interface ConfigIssue {
  /** Where: "services[1].endpoints[0]"; "" for the document itself. */
  path: string;
  /** What was expected and what was received. */
  message: string;
  /** 1-based position in the source text, when parsed from text. */
  line?: number;
  column?: number;
}

export type ConfigResult = { ok: true; config: MeshletConfig } | { ok: false; errors: ConfigIssue[] };

type Key = string | number;

/** Validates and normalizes an already-decoded config (the output of YAML/JSON parsing, or a control-plane push). */
export function parseConfig(input: unknown): ConfigResult {
  const r = v.safeParse(ConfigSchema, input);
  if (r.success) return { ok: true, config: r.output };
  return { ok: false, errors: toIssues(r.issues).map(({ keys: _keys, ...issue }) => issue) };
}

function toIssues(issues: readonly v.BaseIssue<unknown>[]): (ConfigIssue & { keys: Key[] })[] {
  const out: (ConfigIssue & { keys: Key[] })[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const keys = (issue.path ?? []).map((p) => p.key).filter((k): k is Key => typeof k === "string" || typeof k === "number");
    const path = formatPath(keys);
    const message = issue.message || `expected ${issue.expected ?? "something else"}, received ${issue.received}`;
    const id = `${path}\u0000${message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ path, message, keys });
  }
  return out;
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** ["services", 1, "endpoints", 0] -> "services[1].endpoints[0]". */
export function formatPath(keys: readonly Key[]): string {
  let s = "";
  for (const k of keys) {
    if (typeof k === "number") s += `[${k}]`;
    else if (IDENT_RE.test(k)) s += s ? `.${k}` : k;
    else s += `[${JSON.stringify(k)}]`;
  }
  return s;
}

/**
 * Parses YAML (or JSON, which is YAML) text and validates it. Syntax errors (including duplicate keys) come
 * back as issues with line and column; so do schema errors, positioned at the offending node.
 */
export function parseConfigText(text: string, fileName?: string): ConfigResult {
  // A valid JSON config needs no YAML library; errors still go through YAML for their line and column.
  const json = tryJson(text);
  if (json !== undefined) {
    const r = parseConfig(json);
    if (r.ok) return r;
  }
  if (yamlLib === undefined) throw new Error("parseConfigText: await loadYamlSupport() first (YAML is loaded on demand)");
  const { LineCounter, parseDocument } = yamlLib;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const first = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
        const kind = fileName?.toLowerCase().endsWith(".json") ? "JSON" : "YAML";
        return { path: "", message: `${kind} syntax error: ${first}`, ...(pos ? { line: pos.line, column: pos.col } : {}) };
      }),
    };
  }
  if (doc.contents === null) {
    return { ok: false, errors: [{ path: "", message: "expected the configuration (a mapping), received an empty document" }] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [{ path: "", message: `YAML error: ${(e as Error).message}` }] };
  }
  const r = v.safeParse(ConfigSchema, data);
  if (r.success) return { ok: true, config: r.output };
  const issues = toIssues(r.issues).map(({ keys, ...issue }) => {
    const offset = offsetOf(doc, keys);
    if (offset === undefined) return issue;
    const pos = lineCounter.linePos(offset);
    return { ...issue, line: pos.line, column: pos.col };
  });
  // Document order reads best; issues without a position keep their place at the front.
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return { ok: false, errors: issues };
}

/**
 * The YAML library is imported on first need, not at startup: it costs a Node process about 8 MiB, and a JSON
 * config never needs it.
 */
let yamlLib: typeof import("yaml") | undefined;
export async function loadYamlSupport(): Promise<void> {
  yamlLib ??= await import("yaml");
}

/** parseConfigText, loading YAML support first when the text may need it. */
export async function parseConfigSource(text: string, fileName?: string): Promise<ConfigResult> {
  const json = tryJson(text);
  if (json === undefined || !parseConfig(json).ok) await loadYamlSupport();
  return parseConfigText(text, fileName);
}

function tryJson(text: string): unknown {
  const t = text.trimStart();
  if (!t.startsWith("{")) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

/** Source offset of the deepest node on `keys` (the key itself when the value is empty). */
function offsetOf(doc: Document, keys: readonly Key[]): number | undefined {
  const { isMap, isPair, isScalar, isSeq } = yamlLib!;
  let at: unknown = doc.contents;
  let offset = rangeStart(at);
  for (const key of keys) {
    if (isMap(at)) {
      const pair = at.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
      at = pair.value;
    } else if (isSeq(at) && typeof key === "number") {
      const item = at.items[key];
      offset = rangeStart(item) ?? offset;
      at = item;
    } else break;
  }
  return offset;
}

function rangeStart(yamlNode: unknown): number | undefined {
  const range = (yamlNode as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

/** Human-readable lines, compiler style: "file:line:col: path: message". */
export function formatConfigIssues(issues: readonly ConfigIssue[], fileName?: string): string {
  return issues
    .map((i) => {
      const where = [fileName, i.line !== undefined ? `${i.line}:${i.column ?? 1}` : undefined].filter(Boolean).join(":");
      const path = i.path === "" ? "(top level)" : i.path;
      return `${where ? `${where}: ` : ""}${path}: ${i.message}`;
    })
    .join("\n");
}
