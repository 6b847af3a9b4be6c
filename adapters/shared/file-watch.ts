// Noticing that files may have changed, on Node, Bun and Deno (node:fs, which all three provide).
//
// fs.watch on each file's parent directory (so editors that write a new file and rename it over the old one, and
// Kubernetes ConfigMap/Secret symlink swaps, are seen) plus a low-frequency stat poll as a safety net, because
// fs.watch semantics differ across runtimes and file systems. Events are debounced, and the callback never runs
// twice at once (a change during a run gets one more run after it). The callback reads the files and decides
// whether anything really changed: events carry no such promise.

import { watch, type FSWatcher } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers";

export interface FileWatchOptions {
  /** Quiet period after the last change event before the callback runs (default 100 ms). */
  debounceMs?: number;
  /** Stat poll period, the safety net under fs.watch (default 2000 ms; 0 disables). */
  pollMs?: number;
  /** Use fs.watch (default true); false leaves only the stat poll (tests, file systems without events). */
  fsWatch?: boolean;
  /** Keep the process alive while watching (default true, like fs.watch). */
  persistent?: boolean;
  /** Diagnostics (watch errors, fallback to polling, a callback that threw). Default: ignored. */
  log?: (line: string) => void;
}

export interface FileWatch {
  /** Asks for a run of the callback after `delayMs` (default: the debounce period), merged with pending events. */
  schedule(delayMs?: number): void;
  close(): void;
}

/**
 * Calls `onChange` (debounced, one run at a time) whenever one of `paths` may have changed. The stat baseline is
 * taken now, so the caller reads the files first and then starts the watch.
 */
export function watchFiles(paths: readonly string[], onChange: () => Promise<void> | void, opts: FileWatchOptions = {}): FileWatch {
  const files = [...new Set(paths.map((p) => resolve(p)))];
  const dirs = [...new Set(files.map((f) => dirname(f)))];
  const debounceMs = opts.debounceMs ?? 100;
  const pollMs = opts.pollMs ?? 2000;
  const persistent = opts.persistent ?? true;
  const log = opts.log ?? (() => {});

  let closed = false;
  let baselineTaken = false;
  const watchers = new Map<string, FSWatcher>();
  const lastStat = new Map<string, string>();
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let firstEventAt = 0;
  let running = false;
  let rerun = false;

  const timer = <T extends { unref(): unknown }>(t: T): T => {
    if (!persistent) t.unref();
    return t;
  };

  /** Debounced trigger; a steady stream of events still gets a run every 10 debounce periods. */
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
        void run();
      }, delay),
    );
  };

  const run = async (): Promise<void> => {
    if (closed) return;
    if (running) {
      rerun = true;
      return;
    }
    running = true;
    try {
      await onChange();
    } catch (e) {
      log(errorText(e));
    } finally {
      running = false;
      if (rerun && !closed) {
        rerun = false;
        schedule();
      }
    }
  };

  const startWatch = () => {
    if (closed || opts.fsWatch === false) return;
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        // Any event in the directory may concern the files (ConfigMap updates swap a "..data" symlink; some
        // runtimes report no file name), so every event triggers a debounced run; unchanged content is ignored.
        const w = watch(dir, { persistent }, () => schedule());
        w.on("error", (e) => {
          log(`fs.watch on ${dir} failed (${errorText(e)}); polling until it can be re-established`);
          w.close();
          watchers.delete(dir);
        });
        watchers.set(dir, w);
      } catch (e) {
        log(`fs.watch on ${dir} unavailable (${errorText(e)}); polling`);
      }
    }
  };

  const signature = async (file: string): Promise<string> => {
    try {
      const s = await stat(file);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch {
      return "missing";
    }
  };

  const poll = async () => {
    if (closed || !baselineTaken) return;
    startWatch(); // re-establish a watcher that failed
    let changed = false;
    for (const file of files) {
      const sig = await signature(file);
      if (sig !== lastStat.get(file)) {
        lastStat.set(file, sig);
        changed = true;
      }
    }
    if (changed) schedule(0);
  };

  const interval = pollMs > 0 ? timer(setInterval(() => void poll(), pollMs)) : undefined;

  void (async () => {
    for (const file of files) lastStat.set(file, await signature(file));
    baselineTaken = true;
    startWatch();
  })();

  return {
    schedule,
    close() {
      if (closed) return;
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
      if (debounce !== undefined) clearTimeout(debounce);
      if (interval !== undefined) clearInterval(interval);
    },
  };
}

/** An error's message, with its code when the runtime's message lacks it (file system errors). */
export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  // Node's fs messages already start with the code ("ENOENT: no such file..."); Deno's and Bun's may not.
  return typeof code === "string" && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
}
