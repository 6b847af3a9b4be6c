// The Clock port for runtimes whose timers have unref() (Node, Bun): performance.now for durations, Date.now for logs.
import type { Clock } from "../../core/ports.ts";

export function createClock(): Clock {
  return {
    now: () => performance.now(),
    wallNow: () => Date.now(),
    setTimer(ms, fn) {
      const t = setTimeout(fn, ms);
      t.unref();
      return () => clearTimeout(t);
    },
  };
}
