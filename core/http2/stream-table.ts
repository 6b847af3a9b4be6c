// The streams of a connection: what the application does on one (StreamHost), delivery to it (pause and
// resume, WINDOW_UPDATE as it consumes), and their lifecycle (end, close, reset, refusal, the rapid-reset count,
// the zero-window stall timer).

import type { HeaderList } from "../http1/types.ts";
import { ErrorCode } from "./frames/constants.ts";
import { encodeRstStream, encodeWindowUpdate } from "./frames/writer.ts";
import { HpackError } from "./hpack/mod.ts";
import { Http2ConnectionError } from "./connection-types.ts";
import { CLOSED_BY_US, CLOSED_ENDED, ConnectionCore } from "./core.ts";
import { type Http2Stream, STREAM_HIGH_WATER, type StreamHost } from "./stream.ts";

/** decodeBlock's answer for a list over our SETTINGS_MAX_HEADER_LIST_SIZE. */
export const TOO_LARGE: string[] = [];

export abstract class StreamTable extends ConnectionCore implements StreamHost {
  // ---- what the application does on a stream ---------------------------------------------------------------

  streamRespond(s: Http2Stream, status: number, headers: HeaderList, endStream: boolean): void {
    if (!s.remote) throw new Error("http2: respond() is for streams the peer opened");
    if (s.headSent) throw new Error("http2: respond() called twice");
    if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`http2: response status ${status}`);
    if (s.aborted || s.closed || this.isClosed) return;
    s.headSent = true;
    this.writeResponseHeaders(s.id, status, headers, endStream);
    if (endStream) {
      s.endQueued = true;
      this.sentEnd(s);
    }
  }

  streamInformational(s: Http2Stream, status: number, headers: HeaderList): void {
    if (!s.remote) throw new Error("http2: informational() is for streams the peer opened");
    if (s.headSent) throw new Error("http2: informational() after respond()");
    if (!Number.isInteger(status) || status < 100 || status > 199 || status === 101) throw new RangeError(`http2: informational status ${status}`);
    if (s.aborted || s.closed || this.isClosed) return;
    this.writeResponseHeaders(s.id, status, headers, false);
  }

  streamWrite(s: Http2Stream, chunk: Uint8Array): boolean {
    if (s.aborted || s.closed || s.endQueued || this.isClosed) return false;
    if (!s.headSent) throw new Error("http2: write() before respond()");
    if (chunk.length > 0) {
      if (s.queue.length === 0) s.queue = [chunk];
      else s.queue.push(chunk);
      s.queued += chunk.length;
      this.sched.schedule(s);
      // Sent at the end of the turn, so that an end() in the same turn rides on the last frame; at once past the
      // high-water mark, so that the answer reflects what the windows took.
      if (s.queued > STREAM_HIGH_WATER) this.sched.flush();
      else this.dataDue();
    }
    if (s.queued > STREAM_HIGH_WATER) {
      s.wantDrain = true;
      return false;
    }
    return true;
  }

  streamEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.aborted || s.closed || s.endQueued || this.isClosed) return;
    if (!s.headSent) throw new Error("http2: end() before respond()");
    s.endQueued = true;
    if (trailers !== null && trailers.length > 0) s.trailers = trailers;
    this.sched.schedule(s);
    this.dataDue();
  }

  streamReset(s: Http2Stream, code: number | undefined): void {
    if (s.aborted) return;
    if (s.closed) {
      // Both ends were done; only held DATA remained to deliver.
      s.aborted = true;
      s.held = null;
      return;
    }
    const c = code ?? ErrorCode.CANCEL;
    if (c === ErrorCode.NO_ERROR && s.endQueued && !s.localEnded) {
      // "Stop sending, no error" after a complete response still queued (§8.1): the RST_STREAM follows our
      // END_STREAM; until then what the peer sends is dropped (and its window returned).
      s.resetAfterEnd = true;
      s.handlers = null;
      s.held = null;
      s.paused = false;
      return;
    }
    this.resetStream(s, c, false);
  }

  streamPause(s: Http2Stream): void {
    s.paused = true;
  }

  streamResume(s: Http2Stream): void {
    if (!s.paused) return;
    s.paused = false;
    while (!s.paused && !s.aborted && s.held !== null) {
      const c = s.held.shift();
      if (c === undefined) {
        s.held = null;
        break;
      }
      s.handlers?.data(c);
      this.consumed(s, c.length);
    }
    if (!s.paused && !s.aborted && s.held === null && s.heldEnd) {
      s.heldEnd = false;
      const t = s.heldTrailers;
      s.heldTrailers = null;
      s.handlers?.end(t);
    }
  }

  // ---- the scheduler's callbacks ---------------------------------------------------------------------------

  writeTrailers(s: Http2Stream, trailers: string[]): void {
    this.beginBlock();
    this.sendBlock(s.id, trailers, true, false);
  }

  sentEnd(s: Http2Stream): void {
    s.localEnded = true;
    s.trailers = null;
    if (s.remoteEnded) this.closeStream(s, CLOSED_ENDED);
    else if (s.resetAfterEnd) this.resetStream(s, ErrorCode.NO_ERROR, false);
  }

  stallStarted(): void {
    if (this.stallTimer === null && this.limits.zeroWindowTimeoutMs > 0 && !this.isClosed) {
      this.stallTimer = this.clock.setTimer(this.limits.zeroWindowTimeoutMs, this.onStallTimer);
    }
  }

  private readonly onStallTimer = (): void => {
    this.stallTimer = null;
    if (this.isClosed) return;
    const timeout = this.limits.zeroWindowTimeoutMs;
    const r = this.sched.expired(this.clock.now(), timeout);
    if (r.connection) {
      const code = ErrorCode.ENHANCE_YOUR_CALM;
      this.terminate(code, new Http2ConnectionError("STALLED", code, `connection send window at zero for ${timeout} ms`), ErrorCode.CANCEL, true);
      return;
    }
    for (const s of r.streams) this.resetStream(s, ErrorCode.CANCEL, true);
    if (r.nextInMs >= 0 && !this.isClosed) this.stallTimer = this.clock.setTimer(r.nextInMs, this.onStallTimer);
  };

  // ---- receiving on a stream -------------------------------------------------------------------------------

  /**
   * Decodes a field block, block[start, end): the regular fields (the pseudo-headers and every field's bits are
   * left in the decoder, for the message checks), TOO_LARGE, or null after a connection error (COMPRESSION_ERROR,
   * §4.3).
   */
  protected decodeBlock(block: Uint8Array, start: number, end: number): string[] | null {
    try {
      return this.decoder.decode(block, true, start, end);
    } catch (e) {
      if (e instanceof HpackError && e.code === "HEADER_LIST_TOO_LARGE") return TOO_LARGE;
      this.connError(ErrorCode.COMPRESSION_ERROR, e instanceof Error ? e.message : String(e));
      return null;
    }
  }

  protected deliverData(s: Http2Stream, data: Uint8Array): void {
    if (s.aborted) return;
    if (s.paused || s.held !== null) {
      (s.held ??= []).push(data);
      return;
    }
    s.handlers?.data(data);
    this.consumed(s, data.length);
  }

  protected deliverEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.aborted) return;
    if (s.paused || s.held !== null) {
      s.heldEnd = true;
      s.heldTrailers = trailers;
      return;
    }
    s.handlers?.end(trailers);
  }

  /** The application took `n` octets of the stream: return them to the peer in batches of half a window. */
  protected consumed(s: Http2Stream, n: number): void {
    if (s.remoteEnded || s.aborted || this.isClosed) return;
    const inc = s.inbound.consume(n);
    if (inc > 0) this.sendControl(encodeWindowUpdate(s.id, inc));
  }

  /**
   * The connection window is returned as DATA arrives, not when it is consumed: what a paused stream holds is
   * bounded by its own window, and one slow stream must not stall the others.
   */
  protected creditConnection(n: number): void {
    const inc = this.connInbound.consume(n);
    if (inc > 0) this.sendControl(encodeWindowUpdate(0, inc));
  }

  /** END_STREAM from the peer, checked against content-length (§8.1.1). */
  protected remoteEnd(s: Http2Stream, trailers: HeaderList | null): void {
    if (s.expectedLength >= 0 && s.receivedLength !== s.expectedLength) {
      this.streamError(s, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    s.remoteEnded = true;
    this.deliverEnd(s, trailers);
    if (s.localEnded && !s.closed) this.closeStream(s, CLOSED_ENDED);
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  protected closeStream(s: Http2Stream, reason: number): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.closedIds.set(s.id, reason);
    if (s.remote) this.remoteActive--;
    else {
      this.localActive--;
      this.capacityDue = true;
    }
    this.sched.drop(s);
    if (!s.remote || this.shuttingDown || this.goawayReceived) this.scheduleTurnEnd();
  }

  /** Closes `s` for good without notifying: nothing more is delivered. */
  protected abortStream(s: Http2Stream, reason: number): void {
    this.closeStream(s, reason);
    s.aborted = true;
    s.held = null;
  }

  /** RST_STREAM from us; the application hears of it (reset(code, false)) when `notify`. */
  protected resetStream(s: Http2Stream, code: number, notify: boolean): void {
    if (s.closed) return;
    this.abortStream(s, CLOSED_BY_US);
    this.sendControl(encodeRstStream(s.id, code)); // may close the connection; s is already out of the map
    if (notify) s.handlers?.reset(code, false);
  }

  /** A stream error the peer caused (§5.4.2): counts towards the rapid-reset limit. */
  protected streamError(s: Http2Stream, code: number): void {
    this.resetStream(s, code, true);
    this.takeReset();
  }

  /** A stream error on an id without a live stream. */
  protected streamErrorId(id: number, code: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) {
      this.streamError(s, code);
      return;
    }
    if (this.isPeerId(id) && !this.closedIds.has(id)) this.closedIds.set(id, CLOSED_BY_US);
    this.sendControl(encodeRstStream(id, code));
    this.takeReset();
  }

  /** REFUSED_STREAM for a new stream (beyond our limit, or after our GOAWAY); safe for the peer to retry (§8.7). */
  protected refuse(id: number, counted: boolean): void {
    this.closedIds.set(id, CLOSED_BY_US);
    this.sendControl(encodeRstStream(id, ErrorCode.REFUSED_STREAM));
    if (counted) this.takeReset();
  }

  /** A request head over our SETTINGS_MAX_HEADER_LIST_SIZE: 431 with END_STREAM, and the request stopped. */
  protected answer431(id: number, endStream: boolean): void {
    this.closedIds.set(id, CLOSED_BY_US);
    this.writeResponseHeaders(id, 431, null, true);
    if (!endStream) this.sendControl(encodeRstStream(id, ErrorCode.NO_ERROR)); // §8.1: stop sending, no error
  }

  /** Rapid-reset bucket (CVE-2023-44487). */
  protected takeReset(): void {
    if (!this.isClosed && !this.resets.take(this.clock.now())) {
      this.flood(`over ${this.limits.resetBurst} streams reset or refused (refill ${this.limits.resetRatePerSec}/s)`);
    }
  }
}
