// A FIFO of byte chunks with a byte count: the write queue of adapters whose runtime writes partially (Bun)
// or asynchronously (Deno). Chunks are kept by reference, never copied.

export class ChunkQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  /** Bytes queued. */
  bytes = 0;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  push(chunk: Uint8Array): void {
    this.items.push(chunk);
    this.bytes += chunk.byteLength;
  }

  /** The first chunk; the queue must not be empty. */
  peek(): Uint8Array {
    return this.items[this.head]!;
  }

  /** Drops n bytes from the front of the first chunk (all of it when n is its length). */
  consume(n: number): void {
    const first = this.items[this.head]!;
    this.bytes -= n;
    if (n < first.byteLength) {
      this.items[this.head] = first.subarray(n);
      return;
    }
    this.items[this.head++] = undefined as unknown as Uint8Array;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Joins up to `max` bytes of the leading chunks into one (fewer syscalls for many small writes). */
  coalesce(max: number): Uint8Array {
    const first = this.items[this.head]!;
    if (this.items.length - this.head === 1 || first.byteLength >= max) return first;
    let n = 0;
    let end = this.head;
    while (end < this.items.length && n + this.items[end]!.byteLength <= max) n += this.items[end++]!.byteLength;
    if (end - this.head < 2) return first;
    const out = new Uint8Array(n);
    let off = 0;
    for (let i = this.head; i < end; i++) {
      out.set(this.items[i]!, off);
      off += this.items[i]!.byteLength;
    }
    this.items.splice(this.head, end - this.head, out);
    return out;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}
