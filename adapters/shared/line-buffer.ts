// Batches output lines and writes them in one go: on the next tick, when the batch is large, or on flush().

const encoder = new TextEncoder();
const MAX_BATCH = 64 * 1024;

export class LineBuffer {
  private buf = "";
  private scheduled = false;
  private readonly writeAll: (bytes: Uint8Array) => void;
  private readonly schedule: (fn: () => void) => void;
  private readonly flushBound = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(writeAll: (bytes: Uint8Array) => void, schedule: (fn: () => void) => void) {
    this.writeAll = writeAll;
    this.schedule = schedule;
  }

  push(line: string): void {
    this.buf += line + "\n";
    if (this.buf.length >= MAX_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.flushBound);
    }
  }

  flush(): void {
    if (this.buf === "") return;
    const bytes = encoder.encode(this.buf);
    this.buf = "";
    this.writeAll(bytes);
  }
}
