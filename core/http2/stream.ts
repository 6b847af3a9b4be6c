// One HTTP/2 stream (RFC 9113 §5.1): the application's handle, and the per-stream state its connection keeps.
// The connection drives everything; a stream's methods hand over to it (StreamHost).

import type { HeaderList } from "../http1/types.ts";
import type { Http2ResponseHead } from "./message-checks.ts";
import { InboundWindow } from "./flow-window.ts";

export interface Http2StreamHandlers {
  /** Client side: the final response head (1xx go to `informational` if set, else are dropped). */
  head?(h: Http2ResponseHead): void;
  informational?(status: number, headers: HeaderList): void;
  /** A DATA payload (padding removed); may alias the read chunk. */
  data(chunk: Uint8Array): void;
  /** END_STREAM from the peer, with the trailers if a trailing HEADERS carried it. */
  end(trailers: HeaderList | null): void;
  /**
   * The stream ended abnormally: RST_STREAM from the peer (byPeer true), a stream error we found (byPeer false),
   * or the connection died with the stream open (the GOAWAY/close code; CANCEL when the connection closed without
   * an error code; REFUSED_STREAM, byPeer true, for streams above a received GOAWAY's last-stream-id, which are
   * safe to retry).
   */
  reset(code: number, byPeer: boolean): void;
  /** write() returned false earlier and the queue fell to the low-water mark. */
  drain?(): void;
}

export type Http2StreamState = "idle" | "open" | "half-closed-local" | "half-closed-remote" | "closed";

/** What a stream asks of its connection. */
export interface StreamHost {
  streamRespond(s: Http2Stream, status: number, headers: HeaderList, endStream: boolean): void;
  streamInformational(s: Http2Stream, status: number, headers: HeaderList): void;
  streamWrite(s: Http2Stream, chunk: Uint8Array): boolean;
  streamEnd(s: Http2Stream, trailers: HeaderList | null): void;
  streamReset(s: Http2Stream, code: number | undefined): void;
  streamPause(s: Http2Stream): void;
  streamResume(s: Http2Stream): void;
}

/** write() returns false past this many queued octets; drain comes once the queue is back down to STREAM_LOW_WATER. */
export const STREAM_HIGH_WATER = 64 * 1024;
export const STREAM_LOW_WATER = 16 * 1024;

/** The queue of a stream with nothing queued yet (shared, never written: a first chunk gets a new array). */
export const NO_CHUNKS: Uint8Array[] = Object.freeze([]) as unknown as Uint8Array[];

export class Http2Stream {
  readonly id: number;
  /** Fields below are the connection's bookkeeping, not API. */
  readonly host: StreamHost;
  /** The peer opened it. */
  readonly remote: boolean;
  handlers: Http2StreamHandlers | null = null;

  /** Gone from the connection (both ends done, or reset). */
  closed = false;
  /** Reset by either side or with the connection: nothing more is delivered. */
  aborted = false;
  /** The HEADERS that opens our side went out: the request (client) or the response (server). */
  headSent = false;
  /** Client: the final response head arrived. */
  headReceived = false;
  /** END_STREAM sent / received. */
  localEnded = false;
  remoteEnded = false;

  // Send side: queued DATA (chunks, an offset into the first), the window, end and trailers to send after it.
  sendWindow: number;
  queue: Uint8Array[] = NO_CHUNKS;
  queueOffset = 0;
  queued = 0;
  endQueued = false;
  trailers: HeaderList | null = null;
  wantDrain = false;
  /** reset(NO_ERROR) came while END_STREAM was still queued: RST_STREAM follows it. */
  resetAfterEnd = false;
  /** In the connection's ready list. */
  scheduled = false;
  /** When its send window went to <= 0 with DATA queued (clock ms), or -1. */
  stalledSince = -1;

  // Receive side.
  readonly inbound: InboundWindow;
  paused = false;
  /** DATA held while paused, and the end (with trailers) that follows it. */
  held: Uint8Array[] | null = null;
  heldEnd = false;
  heldTrailers: HeaderList | null = null;
  /** Content-Length of what we receive (-1 none), octets received, and whether no content may come at all. */
  expectedLength = -1;
  receivedLength = 0;
  bodiless = false;
  /** Client: the request was HEAD. */
  headRequest = false;

  constructor(host: StreamHost, id: number, remote: boolean, sendWindow: number, recvWindow: number) {
    this.host = host;
    this.id = id;
    this.remote = remote;
    this.sendWindow = sendWindow;
    this.inbound = new InboundWindow(recvWindow);
  }

  get state(): Http2StreamState {
    if (this.closed) return "closed";
    if (!this.headSent && !this.remote) return "idle";
    if (this.localEnded) return this.remoteEnded ? "closed" : "half-closed-local";
    return this.remoteEnded ? "half-closed-remote" : "open";
  }

  setHandlers(h: Http2StreamHandlers): void {
    this.handlers = h;
  }

  /** Server: the response head; `headers` are regular fields (names lower-cased, connection-specific ones dropped). */
  respond(status: number, headers: HeaderList, endStream: boolean): void {
    this.host.streamRespond(this, status, headers, endStream);
  }

  /** Server: an interim 1xx response (100 Continue, 103 Early Hints; not 101). */
  informational(status: number, headers: HeaderList): void {
    this.host.streamInformational(this, status, headers);
  }

  /**
   * Queues DATA, sent as the stream and connection windows allow, in frames of at most the peer's
   * SETTINGS_MAX_FRAME_SIZE (views of the chunk, not copies). False when more than 64 KiB are queued: wait for
   * drain. Also false, with the chunk dropped, once the stream is reset or ended.
   */
  write(chunk: Uint8Array): boolean {
    return this.host.streamWrite(this, chunk);
  }

  /** END_STREAM after the queued DATA, as a trailing HEADERS when `trailers` has fields. */
  end(trailers?: HeaderList | null): void {
    this.host.streamEnd(this, trailers ?? null);
  }

  /** RST_STREAM (default CANCEL); no handler is called for this stream afterwards. */
  reset(code?: number): void {
    this.host.streamReset(this, code);
  }

  /** Stops delivering DATA; what arrives is held and not acknowledged, so the peer's flow control stops it. */
  pause(): void {
    this.host.streamPause(this);
  }

  resume(): void {
    this.host.streamResume(this);
  }
}
