import assert from "node:assert/strict";
import { test } from "node:test";
import type { Conn } from "../../../core/ports.ts";
import { CoalescingConn } from "../../../core/proxy/coalescing-conn.ts";

function inner(accept = true) {
  const writes: Uint8Array[] = [];
  const calls: string[] = [];
  let drain: (() => void) | null = null;
  const conn = {
    local: { host: "127.0.0.1", port: 1 }, remote: { host: "127.0.0.1", port: 2 },
    setHandlers() {}, pause() {}, resume() {},
    write(b: Uint8Array) { writes.push(b); calls.push(`write ${b.length}`); return accept; },
    onDrain(fn: (() => void) | null) { drain = fn; },
    closeWrite() { calls.push("closeWrite"); }, close() { calls.push("close"); }, destroy() { calls.push("destroy"); },
  } satisfies Conn;
  return { conn, writes, calls, drain: () => drain?.() };
}
const bytes = (n: number, v = 1) => new Uint8Array(n).fill(v);
const turn = () => new Promise<void>((r) => queueMicrotask(r));

test("small writes of one turn become one write, in order", async () => {
  const i = inner();
  const c = new CoalescingConn(i.conn);
  assert.equal(c.write(bytes(3, 1)), true);
  c.write(bytes(2, 2));
  c.write(bytes(1, 3));
  assert.equal(i.writes.length, 0);
  await turn();
  assert.deepEqual(i.calls, ["write 6"]);
  assert.deepEqual([...i.writes[0]!], [1, 1, 1, 2, 2, 3]);
});

test("a large chunk flushes what is queued, then goes through uncopied", () => {
  const i = inner();
  const c = new CoalescingConn(i.conn);
  const big = bytes(20000, 9);
  c.write(bytes(10));
  c.write(big);
  assert.deepEqual(i.calls, ["write 10", "write 20000"]);
  assert.equal(i.writes[1], big);
});

test("close and closeWrite flush first; destroy discards", () => {
  const i = inner();
  const c = new CoalescingConn(i.conn);
  c.write(bytes(4));
  c.closeWrite();
  c.write(bytes(5));
  c.close();
  assert.deepEqual(i.calls, ["write 4", "closeWrite", "write 5", "close"]);
  const j = inner();
  const d = new CoalescingConn(j.conn);
  d.write(bytes(4));
  d.destroy();
  assert.deepEqual(j.calls, ["destroy"]);
});

test("backpressure: false once the inner conn refuses, drain is passed on and clears it", async () => {
  const i = inner(false);
  const c = new CoalescingConn(i.conn);
  assert.equal(c.write(bytes(20000)), false);
  let drained = 0;
  c.onDrain(() => drained++);
  assert.equal(c.write(bytes(1)), false);
  i.drain();
  assert.equal(drained, 1);
  assert.equal(c.write(bytes(1)), true);
});
