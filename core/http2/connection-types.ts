// The options, callbacks and errors of an Http2Connection.

import type { Clock } from "../ports.ts";
import type { Http2Limits } from "./limits.ts";
import type { Http2RequestHead } from "./message-checks.ts";
import type { Http2Stream } from "./stream.ts";

export interface Http2Options {
  role: "client" | "server";
  /** The only source of time: now() and setTimer(). */
  clock: Clock;
  /**
   * Our SETTINGS_MAX_CONCURRENT_STREAMS: how many streams the peer may open. Default 100 for both roles (push is
   * disabled, so a client advertises 100 too; it never limits our own requests).
   */
  maxConcurrentStreams?: number;
  /** Our per-stream receive window; default 65536. */
  initialWindowSize?: number;
  /** Our connection receive window, raised from 65535 by a WINDOW_UPDATE right after our SETTINGS; default 1 MiB. */
  connectionWindowSize?: number;
  /** Our SETTINGS_MAX_FRAME_SIZE; default 16384. */
  maxFrameSize?: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE, enforced on decoding; default 65536. */
  maxHeaderListSize?: number;
  /** Our SETTINGS_HEADER_TABLE_SIZE (the peer's encoder table); default 4096. */
  headerTableSize?: number;
  /**
   * PING after intervalMs without any frame received; no ACK within timeoutMs closes the connection (GOAWAY
   * NO_ERROR, then the Conn destroyed) and handlers.close gets an Http2ConnectionError "PING_TIMEOUT". Default null.
   */
  keepAlive?: { intervalMs: number; timeoutMs: number } | null;
  limits?: Partial<Http2Limits>;
  /** Server: advertise SETTINGS_ENABLE_CONNECT_PROTOCOL and accept extended CONNECT (RFC 8441). Default false. */
  enableConnectProtocol?: boolean;
}

export interface Http2ConnectionHandlers {
  /** Server: a new request. Call s.setHandlers() synchronously inside (else the stream is refused). */
  stream?(s: Http2Stream, head: Http2RequestHead): void;
  goaway?(lastStreamId: number, errorCode: number, debug: Uint8Array): void;
  /** Client: the number of streams we may open grew (a stream closed, the peer raised its limit). */
  capacity?(): void;
  /** Exactly once, when the connection is gone (err undefined for a clean close). */
  close(err?: Error): void;
}

export type Http2ConnectionErrorCode =
  /** We found a connection error in what the peer sent; errorCode is the GOAWAY code we sent. */
  | "PROTOCOL"
  /** A defence tripped (rapid reset, CONTINUATION/SETTINGS/PING flood, control frames queued): ENHANCE_YOUR_CALM. */
  | "ENHANCE_YOUR_CALM"
  /** The connection send window stayed at zero for limits.zeroWindowTimeoutMs (GOAWAY ENHANCE_YOUR_CALM). */
  | "STALLED"
  | "PING_TIMEOUT"
  | "SETTINGS_TIMEOUT"
  | "SHUTDOWN_TIMEOUT"
  /** The peer sent GOAWAY with an error code (errorCode), then closed. */
  | "PEER_GOAWAY"
  /** The Conn closed or ended while streams were open, or closed with an error (as `cause`). */
  | "CONNECTION_LOST";

export class Http2ConnectionError extends Error {
  readonly code: Http2ConnectionErrorCode;
  /** An HTTP/2 ErrorCode: the GOAWAY we sent, or the peer's for PEER_GOAWAY. */
  readonly errorCode: number;
  constructor(code: Http2ConnectionErrorCode, errorCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.errorCode = errorCode;
    this.name = "Http2ConnectionError";
  }
}
