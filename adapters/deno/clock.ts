// The Clock port: performance.now for durations, Date.now for logs, unref'd timers (Deno.unrefTimer).
import type { Clock } from "../../core/ports.ts";

export function createClock(): Clock {
  return {
    now: () => performance.now(),
    wallNow: () => Date.now(),
    setTimer(ms, fn) {
      const id = setTimeout(fn, ms);
      Deno.unrefTimer(id);
      return () => clearTimeout(id);
    },
  };
}
