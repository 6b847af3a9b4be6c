// Loading and watching the config file (node:fs, which Node, Bun and Deno all provide).
//
// Watching (file-watch.ts): fs.watch on the parent directory plus a low-frequency stat poll as a safety net,
// debounced. On each change the file is re-read and parsed; a valid config whose content differs from the last
// applied one goes to onValid, an invalid one to onInvalid (reported once per distinct content, after a
// confirming re-read so a half-written file is not reported), and the last good config stays in force. A file that is briefly missing is not an error; one still
// missing after `missingGraceMs` is reported once.

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseConfigSource, type ConfigIssue } from "../../core/config/parse.ts";
import type { MeshletConfig } from "../../core/config/types.ts";
import { errorText, watchFiles, type FileWatch } from "./file-watch.ts";

export type LoadResult =
  | { ok: true; config: MeshletConfig; text: string }
  | { ok: false; errors: ConfigIssue[]; reason: "unreadable" | "invalid" };

/** Reads and validates a config file. `reason: "unreadable"` when it could not be read at all. */
export async function loadConfigFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return { ok: false, reason: "unreadable", errors: [{ path: "", message: `cannot read ${path}: ${errorText(e)}` }] };
  }
  const r = await parseConfigSource(text, path);
  return r.ok ? { ok: true, config: r.config, text } : { ok: false, reason: "invalid", errors: r.errors };
}

export interface WatchOptions {
  /** Quiet period after the last change event before the file is read (default 100 ms). */
  debounceMs?: number;
  /** Stat poll period, the safety net under fs.watch (default 2000 ms; 0 disables). */
  pollMs?: number;
  /** How long the file may be missing before that is reported through onInvalid (default 1000 ms). */
  missingGraceMs?: number;
  /**
   * The text the caller already loaded and applied (LoadResult.text). Changes are measured against it; if the
   * file already differs, the new content is handled at once. Without it, the current content is the baseline.
   */
  initialText?: string;
  /** Use fs.watch (default true); false leaves only the stat poll (tests, file systems without events). */
  fsWatch?: boolean;
  /** Keep the process alive while watching (default true, like fs.watch). */
  persistent?: boolean;
  /** Diagnostics (watch errors, fallback to polling). Default: ignored. */
  log?: (line: string) => void;
}

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(
  path: string,
  onValid: (config: MeshletConfig) => void,
  onInvalid: (issues: ConfigIssue[]) => void,
  opts: WatchOptions = {},
): ConfigWatcher {
  const file = resolve(path);
  const debounceMs = opts.debounceMs ?? 100;
  const missingGraceMs = opts.missingGraceMs ?? 1000;
  const log = opts.log ?? (() => {});

  let closed = false;
  let files: FileWatch | undefined; // started once the baseline is known
  let lastText: string | undefined = opts.initialText; // the last content handled (applied or reported)
  let appliedJson: string | undefined; // the last config handed to onValid (or loaded by the caller)
  let pendingInvalid: string | undefined; // invalid text seen once, reported if seen again
  let missingSince: number | undefined;
  let missingReported = false;

  const schedule = (delay?: number) => files?.schedule(delay);

  const checkOnce = async () => {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if ((e as { code?: unknown }).code !== "ENOENT") throw e;
      // Missing: an editor's rename window, or really gone. Retry; report once after the grace period.
      const now = performance.now();
      missingSince ??= now;
      if (now - missingSince >= missingGraceMs) {
        if (!missingReported && !closed) {
          missingReported = true;
          lastText = undefined;
          onInvalid([{ path: "", message: `cannot read ${path}: file not found (keeping the last good config)` }]);
        }
      } else schedule(Math.min(missingGraceMs, Math.max(debounceMs, 50)));
      return;
    }
    missingSince = undefined;
    missingReported = false;
    if (closed || text === lastText) return;
    const r = await parseConfigSource(text, path);
    if (r.ok) {
      pendingInvalid = undefined;
      lastText = text;
      const json = JSON.stringify(r.config);
      if (json === appliedJson) return; // same config (e.g. only comments changed)
      appliedJson = json;
      onValid(r.config);
      return;
    }
    // Invalid: confirm with a second read, so a file caught half-written is not reported.
    if (pendingInvalid !== text) {
      pendingInvalid = text;
      schedule();
      return;
    }
    pendingInvalid = undefined;
    lastText = text;
    onInvalid(r.errors);
  };

  // Baseline: the caller's text, or the file as it is now; then the watch starts.
  void (async () => {
    if (opts.initialText !== undefined) {
      const r = await parseConfigSource(opts.initialText, path);
      if (r.ok) appliedJson = JSON.stringify(r.config);
    } else {
      try {
        lastText = await readFile(file, "utf8");
        const r = await parseConfigSource(lastText, path);
        if (r.ok) appliedJson = JSON.stringify(r.config);
      } catch {
        // Missing or unreadable at start: the first successful read is handled as a change.
      }
    }
    if (closed) return;
    files = watchFiles([file], checkOnce, {
      debounceMs,
      pollMs: opts.pollMs,
      fsWatch: opts.fsWatch,
      persistent: opts.persistent,
      log: (line) => log(`config watch: ${line}`),
    });
    if (opts.initialText !== undefined) schedule(0); // the file may have changed since the caller read it
  })();

  return {
    close() {
      if (closed) return;
      closed = true;
      files?.close();
    },
  };
}
