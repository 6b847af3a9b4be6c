// Loading and watching the config file (node:fs, which Node, Bun and Deno all provide).
//
// Watching: fs.watch on the parent directory (so editors that write a new file and rename it over the old one,
// and Kubernetes ConfigMap symlink swaps, are seen) plus a low-frequency stat poll as a safety net, because
// fs.watch semantics differ across runtimes and file systems. Events are debounced; the file is re-read and
// parsed; a valid config whose content differs from the last applied one goes to onValid, an invalid one to
// onInvalid (reported once per distinct content, after a confirming re-read so a half-written file is not
// reported), and the last good config stays in force. A file that is briefly missing is not an error; one still
// missing after `missingGraceMs` is reported once.

import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";
import { parseConfigSource, type ConfigIssue } from "../../core/config/parse.ts";
import type { MeshletConfig } from "../../core/config/types.ts";

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
  const dir = dirname(file);
  const debounceMs = opts.debounceMs ?? 100;
  const pollMs = opts.pollMs ?? 2000;
  const missingGraceMs = opts.missingGraceMs ?? 1000;
  const persistent = opts.persistent ?? true;
  const log = opts.log ?? (() => {});

  let closed = false;
  let ready = false; // the baseline is known
  let watcher: FSWatcher | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let firstEventAt = 0;
  let running = false;
  let rerun = false;
  let lastStat = "";
  let lastText: string | undefined = opts.initialText; // the last content handled (applied or reported)
  let appliedJson: string | undefined; // the last config handed to onValid (or loaded by the caller)
  let pendingInvalid: string | undefined; // invalid text seen once, reported if seen again
  let missingSince: number | undefined;
  let missingReported = false;

  const timer = <T extends { unref(): unknown }>(t: T): T => {
    if (!persistent) t.unref();
    return t;
  };

  /** Debounced trigger; a steady stream of events still gets a read every 10 debounce periods. */
  const schedule = (delay = debounceMs) => {
    if (closed) return;
    const now = performance.now();
    if (debounce === undefined) firstEventAt = now;
    else {
      if (now - firstEventAt > debounceMs * 10) return;
      clearTimeout(debounce);
    }
    debounce = timer(
      setTimeout(() => {
        debounce = undefined;
        void check();
      }, delay),
    );
  };

  const check = async (): Promise<void> => {
    if (closed || !ready) return;
    if (running) {
      rerun = true;
      return;
    }
    running = true;
    try {
      await checkOnce();
    } catch (e) {
      log(`config watch: ${errorText(e)}`);
    } finally {
      running = false;
      if (rerun && !closed) {
        rerun = false;
        schedule();
      }
    }
  };

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

  const startWatch = () => {
    if (closed || watcher || opts.fsWatch === false) return;
    try {
      // Any event in the directory may concern the file (ConfigMap updates swap a "..data" symlink; some
      // runtimes report no file name), so every event triggers a debounced re-read; unchanged content is ignored.
      watcher = watch(dir, { persistent }, () => schedule());
      watcher.on("error", (e) => {
        log(`config watch: fs.watch on ${dir} failed (${errorText(e)}); polling until it can be re-established`);
        watcher?.close();
        watcher = undefined;
      });
    } catch (e) {
      watcher = undefined;
      log(`config watch: fs.watch on ${dir} unavailable (${errorText(e)}); polling`);
    }
  };

  const poll = async () => {
    if (closed || !ready) return;
    startWatch(); // re-establish a watcher that failed
    try {
      const s = await stat(file);
      const sig = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      if (sig !== lastStat) {
        lastStat = sig;
        schedule(0);
      }
    } catch {
      if (lastStat !== "missing") {
        lastStat = "missing";
        schedule(0);
      }
    }
  };

  const interval = pollMs > 0 ? timer(setInterval(() => void poll(), pollMs)) : undefined;

  // Baseline: the caller's text, or the file as it is now.
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
    try {
      const s = await stat(file);
      lastStat = `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      lastStat = "missing";
    }
    ready = true;
    startWatch();
    if (opts.initialText !== undefined) schedule(0); // the file may have changed since the caller read it
  })();

  return {
    close() {
      if (closed) return;
      closed = true;
      watcher?.close();
      watcher = undefined;
      if (debounce !== undefined) clearTimeout(debounce);
      if (interval !== undefined) clearInterval(interval);
    },
  };
}

function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  // Node's fs messages already start with the code ("ENOENT: no such file..."); Deno's and Bun's may not.
  return typeof code === "string" && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
}
