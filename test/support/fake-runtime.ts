// In-memory ports for deterministic unit tests: a manual clock and connected pairs of connections.
import { concatBytes } from "../../core/bytes.ts";
import { MeshletError } from "../../core/errors.ts";
import type { Addr, Clock, Conn, ConnHandlers, Net } from "../../core/ports.ts";

export class FakeClock implements Clock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now() {
    return this.t;
  }
  wallNow() {
    return 1_700_000_000_000 + this.t;
  }
  setTimer(ms: number, fn: () => void) {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return () => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
  get pending() {
    return this.timers.length;
  }
}

export class FakeConn implements Conn {
  peer!: FakeConn;
  handlers: ConnHandlers | null = null;
  private inbox: Uint8Array[] = [];
  private paused = false;
  private endPending = false;
  closed = false;
  writeEnded = false;
  written: Uint8Array[] = [];
  destroyedWith: Error | undefined;
  constructor(readonly local: Addr, readonly remote: Addr) {}
  setHandlers(h: ConnHandlers) {
    this.handlers = h;
    this.flush();
  }
  write(chunk: Uint8Array) {
    if (this.closed || this.writeEnded) return false;
    this.written.push(chunk);
    this.peer.deliver(chunk.slice());
    return true;
  }
  onDrain() {}
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
    this.flush();
  }
  closeWrite() {
    if (this.writeEnded || this.closed) return;
    this.writeEnded = true;
    this.peer.deliverEnd();
  }
  close() {
    this.closeWrite();
    this.finish();
    this.peer.finish();
  }
  destroy(err?: Error) {
    this.destroyedWith = err;
    this.finish(err);
    this.peer.finish(new Error("ECONNRESET"));
  }
  text() {
    return new TextDecoder().decode(concatBytes(this.written));
  }
  private deliver(chunk: Uint8Array) {
    this.inbox.push(chunk);
    this.flush();
  }
  private deliverEnd() {
    this.endPending = true;
    this.flush();
  }
  private flush() {
    while (!this.paused && this.handlers && this.inbox.length > 0) this.handlers.data(this.inbox.shift()!);
    if (!this.paused && this.handlers && this.inbox.length === 0 && this.endPending) {
      this.endPending = false;
      this.handlers.end();
    }
  }
  private finish(err?: Error) {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.close(err);
  }
}

export function pair(a: Addr, b: Addr): [FakeConn, FakeConn] {
  const x = new FakeConn(a, b);
  const y = new FakeConn(b, a);
  x.peer = y;
  y.peer = x;
  return [x, y];
}

/** A Net whose listeners live in a map; connect() to an unknown address is refused. */
export class FakeNet implements Net {
  readonly servers = new Map<string, (c: Conn) => void>();
  connects = 0;
  private port = 40000;
  async listen(opts: { host: string; port: number }, onConn: (c: Conn) => void) {
    const local = { host: opts.host, port: opts.port || ++this.port };
    this.servers.set(`${local.host}:${local.port}`, onConn);
    return { local, close: async () => void this.servers.delete(`${local.host}:${local.port}`) };
  }
  async connect(addr: Addr) {
    this.connects++;
    const accept = this.servers.get(`${addr.host}:${addr.port}`);
    if (!accept) throw new MeshletError("CONNECT_REFUSED", `connect ECONNREFUSED ${addr.host}:${addr.port}`);
    const [client, server] = pair({ host: "127.0.0.1", port: ++this.port }, addr);
    accept(server);
    return client;
  }
}
