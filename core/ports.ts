// The runtime ports: everything the pure core needs from the outside world.
// Each adapter (adapters/node, adapters/bun, adapters/deno) exports createRuntime(): Runtime.

export interface Addr {
  host: string;
  port: number;
}

/** Callbacks of a connection. `data` chunks are owned by the receiver (adapters copy if their runtime reuses buffers). */
export interface ConnHandlers {
  data(chunk: Uint8Array): void;
  /** The peer half-closed (FIN). Writing is still allowed until closeWrite/close. */
  end(): void;
  /** The connection is fully closed; called exactly once. `err` is set when it closed abnormally (reset, timeout...). */
  close(err?: Error): void;
}

/** A duplex byte stream with push reads, explicit backpressure and half-close. */
export interface Conn {
  readonly local: Addr;
  readonly remote: Addr;
  /** Set on TLS connections. */
  readonly tls?: TlsInfo;
  /** Installs the callbacks. Reads start flowing only after this call (adapters buffer until then). */
  setHandlers(h: ConnHandlers): void;
  /** Queues bytes; returns false once the write buffer is over its high-water mark: wait for onDrain. */
  write(chunk: Uint8Array): boolean;
  /** Registers the single drain callback (replaces a previous one); called once per drain after write() returned false. */
  onDrain(fn: (() => void) | null): void;
  /** Stops `data` callbacks until resume(); no data is lost. */
  pause(): void;
  resume(): void;
  /** Sends FIN once queued writes are flushed; reads continue. */
  closeWrite(): void;
  /** Flushes queued writes, then closes both directions. */
  close(): void;
  /**
   * Closes at once, discarding queued writes (RST where the runtime allows: Node and Bun send RST; Deno cannot and
   * sends FIN, so the peer sees end() and closes when it has closed its own side).
   */
  destroy(err?: Error): void;
}

export interface ListenOptions {
  host: string;
  /** 0 lets the OS choose. */
  port: number;
}

export interface Listener {
  /** The bound address (the real port when 0 was asked). */
  readonly local: Addr;
  /** Stops accepting; open connections are left alone. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Net {
  listen(opts: ListenOptions, onConn: (c: Conn) => void): Promise<Listener>;
  /** Rejects with a MeshletError whose code is CONNECT_REFUSED, CONNECT_TIMEOUT, CONNECT_RESET or CONNECT_FAILED. */
  connect(addr: Addr, opts?: ConnectOptions): Promise<Conn>;
}

export interface TlsInfo {
  /** Negotiated ALPN protocol, if any. */
  alpn?: string;
  /** SNI the client asked for (server side) or sent (client side). */
  sni?: string;
  /** The peer's leaf certificate, DER-encoded, when one was presented. */
  peerCertificate?: Uint8Array;
  /** True when the peer certificate chained to the configured trust anchors. */
  authorized: boolean;
}

export interface TlsServerConfig {
  /** PEM certificate chain and key. */
  cert: string;
  key: string;
  /** PEM trust anchors for client certificates. */
  ca?: string;
  /** Ask the client for a certificate (mTLS). */
  requestCert?: boolean;
  alpn?: string[];
}

export interface TlsClientConfig {
  servername?: string;
  alpn?: string[];
  /** PEM trust anchors for the server certificate. */
  ca?: string;
  /** PEM client certificate and key (mTLS). */
  cert?: string;
  key?: string;
  /**
   * Whether the server certificate must name `servername` (a DNS SAN), default true. False still verifies the
   * chain against `ca` but not the name: meshed peers are checked by their SPIFFE ID (the URI SAN) instead, which
   * the caller reads from TlsInfo.peerCertificate.
   */
  verifyServerName?: boolean;
}

export interface Tls {
  /** Terminates TLS on an accepted connection; `preread` are bytes already consumed by detection (the ClientHello). */
  accept(conn: Conn, cfg: TlsServerConfig, preread?: Uint8Array): Promise<Conn>;
  /**
   * Originates TLS on a new connection to addr (`opts` bound the whole connect and handshake; failures before the
   * handshake are CONNECT_* codes), or over an existing connection.
   */
  connect(target: Conn | Addr, cfg: TlsClientConfig, opts?: ConnectOptions): Promise<Conn>;
}

export type CancelTimer = () => void;

export interface Clock {
  /** Monotonic milliseconds (fractional), for durations. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for logs. */
  wallNow(): number;
  /** Calls fn once after ms; returns a function that cancels it. Timers never keep a process alive on their own. */
  setTimer(ms: number, fn: () => void): CancelTimer;
}

/** Minimal HTTP server used for the admin endpoint; each runtime serves it with its native server. */
export interface FetchInfo {
  remote: Addr;
}
export type FetchHandler = (req: Request, info: FetchInfo) => Response | Promise<Response>;
export interface HttpServe {
  serve(opts: ListenOptions, handler: FetchHandler): Promise<Listener>;
}

export interface Runtime {
  readonly name: "node" | "bun" | "deno";
  net: Net;
  tls: Tls;
  clock: Clock;
  http: HttpServe;
  /** A uniform double in [0, 1). */
  random(): number;
  /** Writes one line (a newline is appended) to standard output / standard error; may buffer briefly. */
  stdout(line: string): void;
  stderr(line: string): void;
}
