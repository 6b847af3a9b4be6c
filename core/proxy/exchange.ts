// One request/response exchange, whatever the protocols on either side: route it, apply the rule's policy
// (redirect, rate limit, faults, load shedding, timeouts), pick an endpoint, forward the request (streaming its
// body, keeping a replay copy while it may be retried), stream the response back, retry failed tries within the
// rule's limits and the service's budget, and report metrics. The client side is a Downstream (an HTTP/1
// connection or an HTTP/2 stream), each try an UpstreamTry; both speak the neutral shapes of message.ts.

import { MeshletError } from "../errors.ts";
import { decideFault } from "../fault/fault.ts";
import { encodeLatin1, getHeader, getHeaderAll, stripHopByHop } from "../http1/headers.ts";
import type { HeaderList } from "../http1/types.ts";
import type { CancelTimer, Conn } from "../ports.ts";
import { retryAfterSeconds } from "../resilience/rate-limit.ts";
import { outcomeOfError, type TryOutcome } from "../resilience/retry-policy.ts";
import { applyHeaderModifier, redirectResponse, rewriteRequest } from "../routing/filters.ts";
import type { HttpMetrics, RouteMetrics } from "../telemetry/types.ts";
import { FAIL_FAST, NO_ENDPOINTS, type Backend } from "./backend.ts";
import { GrpcStatus, grpcStatusForHttp, isGrpcContentType } from "../grpc/status.ts";
import { encodeGrpcMessage } from "../grpc/message.ts";
import { formatGrpcTimeout, parseGrpcTimeout } from "../grpc/timeout.ts";
import { ERROR_HEADER, messageBody } from "./error-response.ts";
import type { Downstream, ProxyRequest, ProxyResponseHead, ResponseSink, UpstreamHead, UpstreamTry } from "./message.ts";
import type { RulePolicy } from "./policy.ts";
import type { Endpoint } from "./routes.ts";
import { tunnel } from "./tunnel.ts";
import { UpstreamConn } from "./upstream.ts";

/** The verified client identity, set by the inbound proxy for the app. */
export const CLIENT_ID_HEADER = "x-meshlet-client-id";
const CONNECT_ESTABLISHED = encodeLatin1("HTTP/1.1 200 Connection Established\r\n\r\n");

export class Exchange implements ResponseSink {
  requestEnded = false;
  responseHeadSent = false;
  /** The request carries body bytes (Content-Length: 0 does not count). */
  private readonly hasBody: boolean;
  /** Waiting for a CONNECT target; the client socket is paused meanwhile. */
  private connectPending = false;
  private readonly startedAt: number;
  private authority = "";
  private path = "";
  private query = "";
  /** The endpoint of the current (or last) try. */
  private endpoint: Endpoint | null = null;
  private upstream: UpstreamTry | null = null;
  private upstreamHead: UpstreamHead | null = null;
  /** Trailers of a request that has ended (replayed with its body). */
  private requestTrailers: HeaderList | null = null;
  /** Client input is held: no upstream to take the body yet (connecting, a retry's backoff, a fault delay). */
  private waitingForUpstream = false;
  /** Client input is paused because the upstream's write buffer is full. */
  private bodyPaused = false;
  private staleRetried = false;
  /** The response is passed on as it is (no body for HEAD, 204, 304). */
  private responseHasBody = true;
  private switching = false;
  /** Tries go over HTTP/2 (h2c) rather than HTTP/1.1. */
  private h2Upstream = false;
  /** The current try goes over HTTP/2 (h2Upstream, unless the endpoint is known to speak only HTTP/1). */
  private tryH2 = false;
  /** A gRPC request (content-type application/grpc*): gRPC-shaped errors, grpc-status classification. */
  private grpc = false;
  /** The grpc-status of the response (-1: none seen). */
  private grpcStatus = -1;
  /** Monotonic time the whole exchange must be done by (route timeout, deadline headers); Infinity for none. */
  private deadlineAt = Number.POSITIVE_INFINITY;
  private done = false;
  private status = 0;
  private requestBytes = 0;
  private responseBytes = 0;
  private http: HttpMetrics | null = null;
  private errorCode: string | undefined;

  // ---- policy
  private policy: RulePolicy | null = null;
  private matchedPrefix: string | undefined;
  /** The service the request goes to; null for a fixed endpoint (the inbound app). */
  private backend: Backend | null = null;
  private fixedEndpoint: Endpoint | null = null;
  private routeMetrics: RouteMetrics | null = null;
  private hashKey: string | undefined;
  private shedHeld = false;
  /** The deadline header was present and honoured (its name, to strip it from the upstream request). */
  private deadlineHeader: string | null = null;

  // ---- tries
  /** Whether a failed try may be retried at all (policy, method, body size). */
  private retryable = false;
  /** Everything written to the upstream after the head, kept while the request may still be retried. */
  private replay: Uint8Array[] | null = null;
  private retries = 0;
  /** Numbers the tries, so a connection or failure that arrives for an earlier try is not taken for the current one. */
  private trySeq = 0;
  private tryOpen = false;
  private tryStartedAt = 0;
  private tryRttMs: number | undefined;
  private lastActivity = 0;

  // ---- timers
  private headTimer: CancelTimer | null = null;
  private requestTimer: CancelTimer | null = null;
  private tryTimer: CancelTimer | null = null;
  private idleTimer: CancelTimer | null = null;
  private waitTimer: CancelTimer | null = null;

  private readonly head: ProxyRequest;

  /** `request` is null when the client side could not make sense of it (`invalid` says why: answered with 400). */
  constructor(
    private readonly down: Downstream,
    request: ProxyRequest | null,
    private readonly invalid?: { code: string; message: string },
  ) {
    this.startedAt = down.ctx.clock.now();
    this.head = request ?? INVALID_REQUEST;
    this.hasBody = this.head.body === "stream" || (this.head.body === "length" && this.head.contentLength > 0);
    // Without a body the request is complete at its head, even if the response beats the parser's onEnd.
    this.requestEnded = !this.hasBody;
  }

  start(): void {
    const { head, down } = this;
    const ctx = down.ctx;
    // Known before any answer, so even a 400 or a 404 is a gRPC-shaped error for a gRPC client.
    this.grpc = isGrpcContentType(getHeader(head.headers, "content-type"));
    if (this.invalid !== undefined) return this.fail(400, this.invalid.code, this.invalid.message);
    this.path = head.path;
    this.query = head.query;
    const authority = (this.authority = head.authority);
    this.http = ctx.metrics.http(ctx.direction, authority === "" ? "unknown" : authority.toLowerCase());
    this.http.request();

    const matchReq = { authority, method: head.method, path: this.path, query: this.query, headers: head.headers };
    const authz = ctx.authz();
    if (authz !== null) {
      const peer = down.peer;
      const o = authz.http(matchReq, peer);
      ctx.metrics.authz("http", o, peer.tag);
      if (!o.allowed) {
        const who = peer.identity ?? `${peer.address} (no client identity)`;
        return this.fail(403, "unauthorized", `${who} is not authorized ${o.route === "" ? "on this port" : `on route ${o.route}`}`);
      }
    }
    const res = ctx.resolve(matchReq);
    if (res.kind === "error") return this.fail(res.status, res.code, res.message);

    let deadlineMs = Number.POSITIVE_INFINITY;
    if (this.grpc) {
      // The client's own deadline: honoured whatever the source (it can only shorten the wait), passed on shortened.
      const t = getHeader(head.headers, "grpc-timeout");
      const ms = t === undefined ? undefined : parseGrpcTimeout(t);
      if (ms !== undefined) deadlineMs = ms;
    }
    const deadlineName = ctx.timeoutHeader();
    if (deadlineName !== null) {
      const values = getHeaderAll(head.headers, deadlineName);
      if (values.length > 0) {
        const ms = values.length === 1 ? parseDeadline(values[0]!) : undefined;
        if (ms === undefined) return this.fail(400, "bad-timeout-header", `${deadlineName} must be one duration like "250ms" or "2s"`);
        deadlineMs = Math.min(deadlineMs, ms);
        this.deadlineHeader = deadlineName;
      }
    }

    let delayMs = 0;
    let abortStatus = 0;
    if (res.kind === "endpoint") this.fixedEndpoint = res.endpoint;
    else {
      const policy = (this.policy = res.hit.policy);
      this.matchedPrefix = res.hit.matchedPrefix;
      if (policy.redirect !== undefined) return this.redirect();
      const name = policy.pickBackend(ctx.random);
      if (name === undefined) return this.fail(500, "no-backend", `route ${policy.routeName} has no backend with a positive weight`);
      const backend = res.backend(name);
      if (backend === undefined) return this.fail(500, "backend-not-found", `route ${policy.routeName}: no service ${name}`);
      this.backend = backend;
      const metrics = (this.routeMetrics = policy.metricsFor(name));
      const now = this.startedAt; // start() runs in the constructor's tick: one clock read serves both
      if (policy.rateLimit !== null) {
        const client = policy.rateLimit.config.perClient === "identity" ? down.peer.identity ?? down.peer.address : down.peer.address;
        const taken = policy.rateLimit.take(now, client);
        if (!taken.ok) {
          metrics.rateLimited();
          return this.fail(429, "rate-limited", `route ${policy.routeName} is over its rate limit`,
            [["retry-after", String(retryAfterSeconds(taken.retryAfterMs))]]);
        }
      }
      const headerFaults = ctx.headerFaults();
      if (policy.fault !== null || headerFaults.enabled) {
        const fault = decideFault(policy.fault ?? undefined, ctx.random, head.headers, headerFaults);
        if (!fault.ok) return this.fail(400, "bad-fault-header", fault.message);
        delayMs = fault.fault.delayMs ?? 0;
        abortStatus = fault.fault.abortStatus ?? 0;
        if (delayMs > 0) metrics.faultInjected("delay");
        if (abortStatus > 0) metrics.faultInjected("abort");
      }
      if (abortStatus === 0 && head.method !== "CONNECT") {
        if (!backend.shed.tryAcquire()) {
          backend.metrics.loadShed();
          return this.fail(503, "load-shed", `service ${name} has ${backend.shed.pending} requests pending (the most allowed)`);
        }
        this.shedHeld = true;
        backend.budget.onRequest(now);
        this.hashKey = hashKeyOf(backend, head.headers, down.peer.address);
      }
    }

    if (head.method === "CONNECT") {
      if (down.http1 === null) return this.fail(501, "connect-not-supported", "CONNECT is only proxied over HTTP/1.1");
      const ep = this.pickEndpoint(this.startedAt, false);
      if (ep !== undefined) this.startConnectTunnel(ep);
      return;
    }

    this.upstreamHead = this.buildUpstreamHead();
    const protocol = this.backend !== null ? this.backend.config.protocol : ctx.appProtocol();
    this.h2Upstream = head.upgrade === null && (protocol === "h2c" || (protocol === "auto" && head.protocol === "HTTP/2"));
    const retry = this.policy?.retry ?? null;
    // gRPC calls are all POSTs: their retries follow the gRPC codes (and connect failures), as in Envoy and Linkerd.
    if (retry !== null && (this.grpc || retry.isRetryableMethod(head.method))) {
      // A sized body over the limit streams without a copy; mayRetry counts it as an overflow if it fails.
      this.retryable = true;
      if (this.hasBody && (head.body !== "length" || retry.bodyFits(head.contentLength))) this.replay = [];
    }
    this.startTimers(deadlineMs);
    if (delayMs > 0) {
      this.holdRequest();
      this.waitTimer = ctx.clock.setTimer(delayMs, () => {
        this.waitTimer = null;
        if (this.done) return;
        if (abortStatus > 0) this.fail(abortStatus, "fault-injected", "fault injected by the route");
        else this.startTry();
      });
      return;
    }
    if (abortStatus > 0) return this.fail(abortStatus, "fault-injected", "fault injected by the route");
    this.startTry(this.startedAt);
  }

  /**
   * The endpoint for the next try, or undefined after answering the request with the reason there is none.
   * `probe` false for a CONNECT tunnel, which does not report its outcome to the breaker.
   */
  private pickEndpoint(now: number, probe = true): Endpoint | undefined {
    if (this.fixedEndpoint !== null) return this.fixedEndpoint;
    const b = this.backend!;
    const picked = b.pick(now, this.hashKey, probe);
    if (picked === NO_ENDPOINTS) {
      this.fail(503, "no-endpoints", `service ${b.name} has no endpoints`);
      return undefined;
    }
    if (picked === FAIL_FAST) {
      b.metrics.failFast();
      this.fail(503, "fail-fast", `every endpoint of service ${b.name} is ejected by the circuit breaker`);
      return undefined;
    }
    return picked;
  }

  private startTimers(deadlineMs: number): void {
    const ctx = this.down.ctx;
    const t = this.policy?.timeouts;
    const routeMs = t !== undefined && t.requestMs > 0 ? t.requestMs : Number.POSITIVE_INFINITY;
    const ms = Math.min(routeMs, deadlineMs);
    if (ms !== Number.POSITIVE_INFINITY) {
      this.deadlineAt = this.startedAt + ms;
      const kind = deadlineMs < routeMs ? "header" : "request";
      this.requestTimer = ctx.clock.setTimer(ms, () => {
        this.requestTimer = null;
        this.timedOut(kind, "request-timeout", `the request did not complete within ${ms} ms`);
      });
    }
    if (t !== undefined && t.idleMs > 0) {
      this.lastActivity = ctx.clock.now();
      this.armIdle(t.idleMs);
    }
    const headMs = ctx.responseTimeoutMs();
    if (headMs > 0) {
      this.headTimer = ctx.clock.setTimer(headMs, () => {
        this.headTimer = null;
        if (this.responseHeadSent || this.done) return;
        this.endTry(false);
        this.fail(504, "response-timeout", `no response from ${this.endpoint?.key ?? "the service"} within ${headMs} ms`);
      });
    }
  }

  private armIdle(idleMs: number): void {
    const clock = this.down.ctx.clock;
    const wait = Math.max(1, this.lastActivity + idleMs - clock.now());
    this.idleTimer = clock.setTimer(wait, () => {
      this.idleTimer = null;
      if (this.done) return;
      if (clock.now() - this.lastActivity >= idleMs) {
        this.timedOut("idle", "idle-timeout", `no bytes either way for ${idleMs} ms`);
      } else this.armIdle(idleMs);
    });
  }

  private timedOut(kind: "request" | "header" | "idle", code: string, message: string): void {
    if (this.done) return;
    this.routeMetrics?.timeout(kind);
    this.endTry(false);
    this.fail(504, code, message);
  }

  // ---- tries

  private startTry(now = this.down.ctx.clock.now()): void {
    let ep = this.pickEndpoint(now);
    // A retry avoids the endpoint that just failed when the balancer offers another (Envoy's previous_hosts).
    for (let i = 0; i < 3 && ep !== undefined && this.retries > 0 && ep === this.endpoint; i++) ep = this.pickEndpoint(now);
    if (ep === undefined) return;
    const ctx = this.down.ctx;
    this.endpoint = ep;
    this.trySeq++;
    this.tryOpen = true;
    this.tryStartedAt = now;
    this.tryRttMs = undefined;
    this.backend?.onTryStart(ep, now);
    const perTry = this.policy?.timeouts.backendRequestMs ?? 0;
    if (perTry > 0) {
      this.tryTimer = ctx.clock.setTimer(perTry, () => {
        this.tryTimer = null;
        if (this.done || !this.tryOpen) return;
        this.routeMetrics?.timeout("backend-request");
        this.endTry(false);
        this.dropUpstream();
        if (this.mayRetry({ kind: "timeout" })) return this.scheduleRetry();
        this.fail(504, "backend-request-timeout", `${ep.key} did not complete the response within ${perTry} ms`);
      });
    }
    this.tryH2 = this.h2Upstream && !ctx.pools.h2.isHttp1(ep.key, now);
    const idle = this.tryH2 ? ctx.pools.h2.take(ep) : ctx.pools.takeIdle(ep, now);
    if (idle !== undefined) this.attach(idle);
    else this.connectThenAttach(ep);
  }

  /** Ends the current try for the balancer and the breaker. */
  private endTry(ok: boolean, now = this.down.ctx.clock.now()): void {
    if (!this.tryOpen) return;
    this.tryOpen = false;
    if (this.tryTimer !== null) {
      this.tryTimer();
      this.tryTimer = null;
    }
    this.backend?.onTryEnd(this.endpoint!, now, ok, this.tryRttMs);
  }

  /** Whether a failed try is retried: the rule's conditions and limits, then the service's budget. */
  private mayRetry(outcome: TryOutcome): boolean {
    const retry = this.policy?.retry;
    if (!retry || !this.retryable || this.done || this.responseHeadSent || !retry.isRetryableOutcome(outcome)) return false;
    const metrics = this.routeMetrics!;
    if (this.retries >= retry.options.maxRetries) {
      metrics.retryLimitExceeded();
      return false;
    }
    if ((this.hasBody && this.replay === null) || !this.backend!.budget.tryWithdraw(this.down.ctx.clock.now())) {
      metrics.retryOverflow();
      return false;
    }
    return true;
  }

  private scheduleRetry(): void {
    const ctx = this.down.ctx;
    const attempt = this.retries++;
    this.routeMetrics!.retry();
    this.holdRequest();
    const delay = this.policy!.backoff.delay(attempt, ctx.random);
    this.waitTimer = ctx.clock.setTimer(delay, () => {
      this.waitTimer = null;
      if (!this.done) this.startTry();
    });
  }

  private dropUpstream(): void {
    const u = this.upstream;
    this.upstream = null;
    u?.destroy();
  }

  private connectThenAttach(ep: Endpoint): void {
    this.holdRequest();
    const seq = this.trySeq;
    const current = () => !this.done && this.tryOpen && this.trySeq === seq && this.upstream === null;
    const pools = this.down.ctx.pools;
    (this.tryH2 ? pools.h2.connect(ep) : pools.connect(ep)).then(
      (u) => (current() ? this.attach(u) : u instanceof UpstreamConn ? pools.returnIdle(u) : u.destroy()),
      (err: unknown) => {
        if (current()) this.connectFailed(err, ep);
      },
    );
  }

  /** Stops reading the request until an upstream connection is ready (its body has nowhere to go yet). */
  private holdRequest(): void {
    // A request without a body has nothing to hold: its end is already known and later bytes are pipelined.
    if (this.waitingForUpstream || !this.hasBody || this.requestEnded) return;
    this.waitingForUpstream = true;
    this.down.pauseRequest(false);
  }

  private attach(u: UpstreamTry): void {
    this.upstream = u;
    if (this.grpc && this.deadlineAt !== Number.POSITIVE_INFINITY) {
      setHeader(this.upstreamHead!.headers, "grpc-timeout", formatGrpcTimeout(this.deadlineAt - this.down.ctx.clock.now()));
    }
    u.begin(this.upstreamHead!, this);
    if (this.replay !== null) for (const chunk of this.replay) u.sendBody(chunk);
    if (this.requestEnded && this.hasBody) u.sendEnd(this.requestTrailers);
    if (this.waitingForUpstream || this.bodyPaused) {
      this.waitingForUpstream = false;
      this.bodyPaused = false;
      this.down.resumeRequest();
    }
  }

  // ---- request side (from the client)

  onRequestBody(chunk: Uint8Array): void {
    if (this.done) return;
    this.requestBytes += chunk.length;
    if (this.idleTimer !== null) this.lastActivity = this.down.ctx.clock.now();
    if (this.replay !== null) {
      if (this.policy!.retry!.bodyFits(this.requestBytes)) this.replay.push(chunk);
      else this.replay = null; // too large to replay: this request streams and is never retried
    }
    const u = this.upstream;
    if (u === null || u.sendBody(chunk)) return;
    // After the last byte of a sized body the client side goes on to the request's end (so the exchange knows the
    // request is complete); only the input waits for the upstream to drain.
    const last = this.head.body === "length" && this.requestBytes >= this.head.contentLength;
    this.down.pauseRequest(last);
    this.bodyPaused = true;
    u.onDrain(() => {
      if (!this.bodyPaused || this.upstream !== u) return;
      this.bodyPaused = false;
      this.down.resumeRequest();
    });
  }

  onRequestEnd(trailers: HeaderList | null): void {
    this.requestEnded = true;
    // After the response was finished the client side just goes on (or closes).
    if (this.done) return;
    this.requestTrailers = forwardableTrailers(trailers);
    if (this.hasBody) this.upstream?.sendEnd(this.requestTrailers);
  }

  // ---- response side (from the upstream)

  onResponseHead(rh: ProxyResponseHead): void {
    const down = this.down;
    const now = down.ctx.clock.now();
    if (this.idleTimer !== null) this.lastActivity = now;
    if (rh.status < 200 && rh.status !== 101) {
      down.informational(rh.status, rh.reason, stripHopByHop(rh.headers, false));
      return;
    }
    if (this.headTimer !== null) {
      this.headTimer();
      this.headTimer = null;
    }
    this.tryRttMs = now - this.tryStartedAt;
    if (this.grpc) this.grpcStatus = grpcStatusOf(rh.headers);
    // A gRPC failure answered in the head alone (trailers-only) sent no message yet: it may be retried.
    const outcome: TryOutcome = this.grpc && rh.status === 200 && rh.body === "none" && this.grpcStatus > 0
      ? { kind: "grpc", code: this.grpcStatus }
      : { kind: "response", status: rh.status };
    if (rh.status !== 101 && this.mayRetry(outcome)) {
      this.endTry(rh.status < 500, now);
      this.dropUpstream();
      return this.scheduleRetry();
    }
    this.status = rh.status;
    if (rh.status === 101) {
      const h1 = down.http1;
      if (this.head.upgrade === null || h1 === null || !(this.upstream instanceof UpstreamConn)) {
        this.endTry(false);
        this.dropUpstream();
        return this.fail(502, "bad-upgrade", "upstream switched protocols without an upgrade request");
      }
      this.endTry(true);
      this.switching = true;
      this.responseHeadSent = true;
      h1.writeSwitchingProtocols(rh.reason, stripHopByHop(rh.headers, true));
      return;
    }
    let headers = stripHopByHop(rh.headers, false);
    const modify = this.policy?.responseHeaders;
    if (modify !== undefined) headers = applyHeaderModifier(headers, modify);
    this.responseHasBody = rh.body !== "none";
    this.responseHeadSent = true;
    this.replay = null;
    down.sendHead(rh.status, rh.reason, headers, rh.body, this.head.upgrade !== null);
  }

  onResponseBody(chunk: Uint8Array): void {
    const down = this.down;
    this.responseBytes += chunk.length;
    if (this.idleTimer !== null) this.lastActivity = down.ctx.clock.now();
    if (!this.responseHasBody) return;
    if (!down.sendBody(chunk)) {
      const u = this.upstream!;
      u.pauseResponse();
      down.onDrain(() => u.resumeResponse());
    }
  }

  onResponseEnd(trailers: HeaderList | null): void {
    if (this.grpc && trailers !== null) this.grpcStatus = grpcStatusOf(trailers);
    if (this.switching) return this.switchToTunnel();
    this.down.sendEnd(forwardableTrailers(trailers));
    const u = this.upstream!;
    this.upstream = null;
    const now = this.down.ctx.clock.now();
    u.finish(this.requestEnded, now);
    this.endTry(this.status < 500, now);
    if (this.retries > 0 && this.status < 500) this.routeMetrics?.retrySuccess();
    // A response that ended before its request did leaves unread body bytes: the connection cannot go on.
    this.complete(!this.requestEnded, now);
  }

  onUpstreamError(err: MeshletError, responseStarted: boolean): void {
    const u = this.upstream;
    this.upstream = null;
    if (this.done) return;
    // A reused keep-alive connection may have been closed by the upstream just as we sent on it: try once more
    // on a fresh connection when nothing of the request body has been sent yet.
    if (err.code === "UPSTREAM_RESET" && !responseStarted && u !== null && u.uses > 0 && !this.staleRetried &&
        !this.hasBody && this.endpoint !== null && this.tryOpen) {
      this.staleRetried = true;
      this.connectThenAttach(this.endpoint);
      return;
    }
    // "auto" sent HTTP/2 to an endpoint that answered in something else (an HTTP/1-only server): remember it and
    // send the same request again over HTTP/1.1, when it can be replayed whole.
    if (err.code === "PROTOCOL_UNSUPPORTED" && this.tryH2 && this.endpoint !== null && this.tryOpen) {
      this.down.ctx.pools.h2.markHttp1(this.endpoint.key, this.down.ctx.clock.now());
      if (!responseStarted && (!this.hasBody || this.replay !== null || this.requestBytes === 0)) {
        this.tryH2 = false;
        this.connectThenAttach(this.endpoint);
        return;
      }
    }
    this.endTry(false);
    if (this.responseHeadSent) {
      // Too late for an error response: cut the client connection so it sees the truncation.
      this.errorCode = err.code === "UPSTREAM_MALFORMED" ? "upstream-malformed" : "upstream-reset";
      this.finishRecord(this.status);
      this.done = true;
      this.release();
      this.down.abortResponse();
      return;
    }
    if (this.mayRetry(outcomeOfError(err.code))) return this.scheduleRetry();
    if (err.code === "UPSTREAM_MALFORMED") this.fail(502, "upstream-malformed", err.message);
    else if (err.code === "PROTOCOL_UNSUPPORTED") this.fail(502, "upstream-not-http2", err.message);
    else this.fail(502, "upstream-reset", err.message);
  }

  /** The client went away (or its request was malformed): release everything. */
  abort(_err?: Error): void {
    if (this.done) return;
    this.done = true;
    this.cancelTry();
    this.dropUpstream();
    this.release();
    if (this.status === 0) this.status = 499;
    this.errorCode ??= "client-closed";
    if (this.grpc && this.grpcStatus < 0) this.grpcStatus = GrpcStatus.CANCELLED;
    this.finishRecord(this.status);
  }

  /** The client connection must stay paused: the request waits for an upstream connection. */
  get holdsInput(): boolean {
    return this.waitingForUpstream || this.connectPending;
  }

  /** The request turned out malformed (its body): answer with the codec's status, then close. */
  reject(status: number, code: string, message: string): void {
    this.fail(status, code, message);
  }

  // ---- helpers

  /** A try cut short by the proxy (the client left, a local answer): neither a success nor a failure of the endpoint. */
  private cancelTry(): void {
    if (!this.tryOpen) return;
    this.tryOpen = false;
    if (this.tryTimer !== null) {
      this.tryTimer();
      this.tryTimer = null;
    }
    this.backend?.onTryCancel(this.endpoint!, this.down.ctx.clock.now());
  }

  private connectFailed(err: unknown, ep: Endpoint): void {
    if (this.done) return;
    const code = err instanceof MeshletError ? err.code : "CONNECT_FAILED";
    this.endTry(false);
    if (code !== "SHUTTING_DOWN" && this.mayRetry(outcomeOfError(code))) return this.scheduleRetry();
    if (code === "CONNECT_TIMEOUT") this.fail(504, "connect-timeout", `connecting to ${ep.key} timed out`);
    else if (code === "SHUTTING_DOWN") this.fail(503, "shutting-down", "proxy is shutting down");
    else if (code === "TLS_IDENTITY_MISMATCH") this.fail(502, "tls-identity-mismatch", (err as Error).message);
    else if (code === "TLS_FAILED") this.fail(502, "tls-failed", `cannot speak mTLS to ${ep.key}: ${(err as Error).message}`);
    else this.fail(502, code === "CONNECT_REFUSED" ? "connect-refused" : "connect-failed", `cannot connect to ${ep.key}: ${(err as Error).message}`);
  }

  private redirect(): void {
    const r = redirectResponse(
      { scheme: "http", authority: this.authority, path: this.path, query: this.query, matchedPrefix: this.matchedPrefix },
      this.policy!.redirect!,
    );
    this.respondLocally(r.status, [["location", r.location]]);
  }

  private fail(status: number, code: string, message: string, extra?: readonly (readonly [string, string])[]): void {
    if (this.done) return;
    this.cancelTry();
    this.dropUpstream();
    this.status = status;
    this.errorCode = code;
    if (this.responseHeadSent) {
      if (this.grpc && this.down.http1 === null && !this.switching) {
        // A gRPC response already under way ends with the proxy's status in its trailers, not a reset.
        this.grpcStatus = grpcStatusForError(status, code);
        this.down.sendEnd(["grpc-status", String(this.grpcStatus), "grpc-message", encodeGrpcMessage(`meshlet: ${message}`), ERROR_HEADER, code]);
        this.complete(!this.requestEnded);
        return;
      }
      this.done = true;
      this.clearTimers();
      this.release();
      this.finishRecord(status);
      this.down.abortResponse();
      return;
    }
    if (this.grpc) return this.respondGrpcError(status, code, message);
    this.respondLocally(status, extra ?? [], code, message);
  }

  /** A proxy error as a gRPC client expects it: HTTP 200, trailers-only, grpc-status and grpc-message. */
  private respondGrpcError(status: number, code: string, message: string): void {
    this.status = 200;
    this.grpcStatus = grpcStatusForError(status, code);
    const close = (!this.requestEnded && this.hasBody) || this.waitingForUpstream;
    this.responseHeadSent = true;
    this.down.respondLocal(200, [
      ["content-type", "application/grpc"],
      ["grpc-status", String(this.grpcStatus)],
      ["grpc-message", encodeGrpcMessage(`meshlet: ${message}`)],
      [ERROR_HEADER, code],
    ], "", close);
    this.complete(close);
  }

  /** Answers the request from the proxy: an error (with a code) or a redirect. */
  private respondLocally(status: number, headers: readonly (readonly [string, string])[], code?: string, message?: string): void {
    this.status = status;
    // Unread request body bytes would be taken for the next request: close unless the request is complete.
    const close = (!this.requestEnded && this.hasBody) || this.waitingForUpstream;
    this.responseHeadSent = true;
    if (code === undefined) this.down.respondLocal(status, headers, "", close);
    else this.down.respondLocal(status, [[ERROR_HEADER, code], ...headers], messageBody(message!), close);
    this.complete(close);
  }

  private complete(closeAfter: boolean, now?: number): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.release();
    this.finishRecord(this.status, now);
    this.down.done(closeAfter);
  }

  /** Gives back the service's pending slot (once). */
  private release(): void {
    this.clearTimers();
    if (this.shedHeld) {
      this.shedHeld = false;
      this.backend!.shed.release();
    }
  }

  private finishRecord(status: number, now = this.down.ctx.clock.now()): void {
    const ctx = this.down.ctx;
    const latency = now - this.startedAt;
    // A call the client cancelled is not the service's failure (as a 499 is not).
    const failed = status >= 500 || (this.grpc && this.grpcStatus > 0 && this.errorCode !== "client-closed");
    const peer = ctx.direction === "inbound" ? this.down.peer.tag : this.endpoint === null ? undefined : ctx.endpointTag(this.endpoint);
    this.http?.response(status, failed ? "failure" : "success", latency, this.grpc ? this.grpcStatus : -1, peer);
    const log = ctx.accessLog();
    if (log === null) return;
    log({
      time: new Date(ctx.clock.wallNow() - latency).toISOString(),
      direction: ctx.direction,
      method: this.head.method,
      authority: this.authority,
      path: this.path,
      status,
      duration_ms: Math.round(latency * 1000) / 1000,
      endpoint: this.endpoint?.key ?? "",
      request_bytes: this.requestBytes,
      response_bytes: this.responseBytes,
      protocol: this.head.protocol,
      ...(this.grpc && this.grpcStatus >= 0 ? { grpc_status: this.grpcStatus } : {}),
      ...(this.errorCode !== undefined ? { error: this.errorCode } : {}),
      ...(peer !== undefined ? { tls: peer.tls } : {}),
      ...(peer !== undefined && peer.id !== "" ? { [ctx.direction === "inbound" ? "client_id" : "server_id"]: peer.id } : {}),
    });
  }

  private clearTimers(): void {
    for (const t of [this.headTimer, this.requestTimer, this.tryTimer, this.idleTimer, this.waitTimer]) t?.();
    this.headTimer = this.requestTimer = this.tryTimer = this.idleTimer = this.waitTimer = null;
  }

  private buildUpstreamHead(): UpstreamHead {
    const { head, down } = this;
    const upgrade = head.upgrade !== null;
    let headers = stripHopByHop(head.headers, upgrade);
    if (head.authorityInTarget || getHeader(headers, "host") === undefined) {
      if (head.authority !== "") setHeader(headers, "host", head.authority);
    }
    if (this.deadlineHeader !== null) removeHeader(headers, this.deadlineHeader);
    const faults = down.ctx.headerFaults();
    if (faults.enabled) {
      removeHeader(headers, faults.delayHeader ?? "x-meshlet-fault-delay");
      removeHeader(headers, faults.abortHeader ?? "x-meshlet-fault-abort");
    }
    let target = head.target;
    const policy = this.policy;
    if (policy !== null) {
      if (policy.requestHeaders !== undefined) headers = applyHeaderModifier(headers, policy.requestHeaders);
      if (policy.rewrite !== undefined) {
        const r = rewriteRequest(
          { scheme: "http", authority: this.authority, path: this.path, query: this.query, matchedPrefix: this.matchedPrefix },
          policy.rewrite,
        );
        target = r.target;
        if (r.host !== undefined) setHeader(headers, "host", r.host);
      }
    }
    if (down.ctx.direction === "inbound") {
      // Only the proxy vouches for a client's identity: whatever arrived under that name is dropped.
      removeHeader(headers, CLIENT_ID_HEADER);
      if (down.peer.identity !== undefined) headers.push(CLIENT_ID_HEADER, down.peer.identity);
    }
    if (down.ctx.forwardedHeaders()) {
      const remote = down.peer.address;
      const xff = getHeader(headers, "x-forwarded-for");
      setHeader(headers, "x-forwarded-for", xff === undefined ? remote : `${xff}, ${remote}`);
      if (getHeader(headers, "x-forwarded-proto") === undefined) headers.push("x-forwarded-proto", "http");
    }
    return {
      method: head.method,
      target,
      headers,
      body: head.body,
      contentLength: head.contentLength,
      upgrade,
      teTrailers: acceptsTrailers(head.headers),
    };
  }

  private startConnectTunnel(ep: Endpoint): void {
    const server = this.down.http1!;
    this.endpoint = ep;
    // The parser stays paused after a CONNECT request; hold the socket too until the tunnel exists.
    this.connectPending = true;
    server.conn.pause();
    server.ctx.dialer.dial(ep, null, server.ctx.connectTimeoutMs()).then(
      (up) => {
        this.connectPending = false;
        if (this.done || server.isClosed) return up.destroy();
        this.status = 200;
        this.responseHeadSent = true;
        server.write(CONNECT_ESTABLISHED);
        const pending = server.parser.takeRemainder();
        this.startTunnel(up, pending, new Uint8Array(0));
      },
      (err: unknown) => {
        this.connectPending = false;
        this.connectFailed(err, ep);
      },
    );
  }

  private switchToTunnel(): void {
    const u = this.upstream as UpstreamConn;
    this.upstream = null;
    const { conn, pending } = u.detachForTunnel();
    const clientPending = this.down.http1!.parser.takeRemainder();
    this.startTunnel(conn, clientPending, pending, u);
  }

  private startTunnel(up: Conn, clientPending: Uint8Array, upstreamPending: Uint8Array, u?: UpstreamConn): void {
    const server = this.down.http1!;
    this.done = true;
    this.release();
    server.current = null;
    server.tunneling = true;
    const ctx = server.ctx;
    const upMetrics = u?.metrics ?? ctx.metrics.tcp(ctx.direction, "dst", this.endpoint!.key);
    if (u === undefined) upMetrics.opened();
    tunnel(
      { conn: server.conn, metrics: server.metrics },
      { conn: up, metrics: upMetrics },
      {
        aPending: clientPending,
        bPending: upstreamPending,
        aEnded: server.clientEnded,
        onClose: () => {
          upMetrics.closed();
          server.tunnelClosed();
        },
      },
    );
    this.finishRecord(this.status);
  }
}

/** The balancer's affinity key for a "hash" service: a header, a cookie or the client's address. */
function hashKeyOf(backend: Backend, headers: HeaderList, clientAddress: string): string | undefined {
  const b = backend.config.balancer;
  if (b.kind !== "hash") return undefined;
  const on = b.hashOn;
  if ("header" in on) return getHeader(headers, on.header.toLowerCase());
  if ("cookie" in on) return cookieValue(headers, on.cookie);
  return clientAddress;
}

function cookieValue(headers: HeaderList, name: string): string | undefined {
  for (const line of getHeaderAll(headers, "cookie")) {
    for (const part of line.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

const DEADLINE_RE = /^\s*([1-9][0-9]{0,8})(ms|s|m)?\s*$/;

/** "250ms", "2s", "1m" or a bare number of milliseconds; undefined when malformed. */
export function parseDeadline(value: string): number | undefined {
  const m = DEADLINE_RE.exec(value);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n;
}

const NOT_IN_TRAILERS = new Set(["content-length", "transfer-encoding", "host", "connection", "keep-alive", "te", "trailer", "upgrade"]);

/** Trailers minus framing, routing and hop-by-hop fields, which a trailer section must not carry. */
function forwardableTrailers(trailers: HeaderList | null): HeaderList | null {
  if (trailers === null) return null;
  const out: HeaderList = [];
  for (let i = 0; i < trailers.length; i += 2) {
    if (!NOT_IN_TRAILERS.has(trailers[i]!.toLowerCase())) out.push(trailers[i]!, trailers[i + 1]!);
  }
  return out.length === 0 ? null : out;
}

function removeHeader(headers: HeaderList, lowerName: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i]!.toLowerCase() === lowerName) headers.splice(i, 2);
}

function setHeader(headers: HeaderList, lowerName: string, value: string): void {
  let set = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== lowerName) continue;
    if (!set) {
      headers[i + 1] = value;
      set = true;
    } else {
      headers.splice(i, 2);
      i -= 2;
    }
  }
  if (!set) headers.push(lowerName, value);
}

/** The grpc-status of a header or trailer list; -1 when absent or malformed. */
function grpcStatusOf(headers: HeaderList): number {
  const v = getHeader(headers, "grpc-status");
  if (v === undefined || !/^[0-9]{1,2}$/.test(v)) return -1;
  return Number(v);
}

/** The gRPC status for an error the proxy answers: timeouts are DEADLINE_EXCEEDED, the rest follows the HTTP status. */
function grpcStatusForError(status: number, code: string): number {
  if (code.endsWith("-timeout")) return GrpcStatus.DEADLINE_EXCEEDED;
  if (code === "client-closed") return GrpcStatus.CANCELLED;
  if (status === 429) return GrpcStatus.RESOURCE_EXHAUSTED;
  return grpcStatusForHttp(status);
}

/** TE names "trailers" (the only TE value HTTP/2 allows; gRPC sends it). */
function acceptsTrailers(headers: HeaderList): boolean {
  for (const v of getHeaderAll(headers, "te")) if (/(^|,)\s*trailers\s*(;|,|$)/i.test(v)) return true;
  return false;
}

const INVALID_REQUEST: ProxyRequest = {
  method: "GET", target: "/", path: "/", query: "", authority: "", authorityInTarget: false, headers: [], body: "none",
  contentLength: 0, upgrade: null, protocol: "HTTP/1.1",
};
