// Line output on Deno: lines are batched and written with Deno.std{out,err}.writeSync, at the latest on the
// next timer tick and on the `unload` event, so no line is lost at exit.
import { LineBuffer } from "../shared/line-buffer.ts";

function writer(file: { writeSync(p: Uint8Array): number }): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      let off = 0;
      while (off < bytes.byteLength) off += file.writeSync(bytes.subarray(off));
    } catch {
      // stdout closed (EPIPE): nothing sensible to do with the line
    }
  };
}

function nextTick(fn: () => void): void {
  Deno.unrefTimer(setTimeout(fn, 0));
}

export function createStdio(): { out: LineBuffer; err: LineBuffer; flush(): void } {
  const out = new LineBuffer(writer(Deno.stdout), nextTick);
  const err = new LineBuffer(writer(Deno.stderr), nextTick);
  const flush = () => {
    out.flush();
    err.flush();
  };
  globalThis.addEventListener("unload", flush);
  return { out, err, flush };
}
