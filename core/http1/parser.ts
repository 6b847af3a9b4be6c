// Streaming HTTP/1.1 parser for requests and responses (RFC 9110/9112).
//
// A small state machine over index loops. The head section is parsed in place when it arrives in one chunk and
// copied into a growable buffer only when it spans chunks; bodies are delivered as `subarray` views of the input
// and never copied or decoded. Strict wherever laxness enables request smuggling:
//   - CRLF is required everywhere: a bare LF line ending is rejected (400), a CR not followed by LF is rejected.
//     (RFC 9112 §2.2 allows a recipient to accept bare LF; we do not, because proxies that disagree on line
//     endings are a classic desync vector.)
//   - obs-fold, whitespace before the colon, control characters in fields, CL+TE, differing duplicate CL,
//     anything but a single final `chunked` coding, malformed chunk sizes: all rejected.
// After onError the parser is dead: it ignores further input.
//
// Flow control: the parser pauses itself after every onEnd (see `pause`/`resume`), so pipelined messages are
// delivered one at a time and the unparsed bytes are retained until the engine is ready for the next one.

import { concatBytes } from "../bytes.ts";
import { FIELD_VALUE, HEX, TOKEN, internLatin1, latin1 } from "./chars.ts";
import {
  Http1Error,
  type BodyKind,
  type HeaderList,
  type Http1ErrorCode,
  type ParserHandlers,
  type ParserLimits,
  type RequestHead,
  type ResponseHead,
} from "./types.ts";

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const SEMI = 59;
const EQ = 61;
const DQUOTE = 34;
const BSLASH = 92;

// Parser states.
const S_HEAD = 0; // reading a start line + header section (or leading CRLFs between messages)
const S_END = 1; // message complete: emit onEnd (consumes no bytes)
const S_BODY_LEN = 2; // Content-Length body
const S_CHUNK_SIZE = 3; // chunk-size [ext] CRLF
const S_CHUNK_DATA = 4;
const S_CHUNK_DATA_CR = 5;
const S_CHUNK_DATA_LF = 6;
const S_TRAILERS = 7; // trailer section after the last chunk
const S_BODY_CLOSE = 8; // response body delimited by connection close
const S_DEAD = 9; // after onError
const S_DETACHED = 10; // after takeRemainder()

// Chunk-size line sub-states.
const C_SIZE = 0;
const C_SIZE_WS = 1;
const C_EXT = 2;
const C_EXT_Q = 3;
const C_EXT_QESC = 4;
const C_LF = 5;

const MAX_CHUNK_SIZE_DIGITS = 16;
const MAX_CHUNK_EXT_BYTES = 4096;
const EMPTY = new Uint8Array(0);

abstract class Http1Parser<H> {
  protected readonly h: ParserHandlers<H>;
  private readonly isRequest: boolean;
  private readonly maxHeader: number;
  private readonly maxLine: number;
  private readonly maxTrailer: number;

  private state = S_HEAD;
  private paused = false;
  private running = false;
  /** Bytes received but not yet parsed (owned copies), kept while paused. */
  private pending: Uint8Array | null = null;
  private eof = false;
  /** Input array and position at the last handler call, so takeRemainder() works from inside a handler. */
  private cur: Uint8Array = EMPTY;
  private curPos = 0;

  // Section (head or trailers) scanning across chunks.
  private secBytes = 0;
  private secLines = 0;
  private lineLen = 0;
  private lastCR = false;
  private scanStart = 0;
  private hbuf: Uint8Array = EMPTY;
  private hlen = 0;

  // Body framing.
  private remaining = 0;
  private cs = C_SIZE;
  private cDigits = 0;
  private extBytes = 0;
  private trailers: HeaderList | null = null;
  /** A final response is still due after a 1xx head. */
  protected awaitingFinal = false;

  // Framing fields collected while parsing a header section.
  protected fContentLength = -1;
  protected fTE: string | null = null;
  protected fConnection: string | null = null;
  protected fUpgrade: string | null = null;
  protected fExpectContinue = false;
  protected fHosts = 0;

  constructor(handlers: ParserHandlers<H>, limits: ParserLimits | undefined, isRequest: boolean) {
    this.h = handlers;
    this.isRequest = isRequest;
    this.maxHeader = limits?.maxHeaderBytes ?? 65536;
    this.maxLine = limits?.maxRequestLineBytes ?? 8192;
    this.maxTrailer = limits?.maxTrailerBytes ?? 65536;
  }

  /** A head has started, a body is pending, or (responses) a final response is due after a 1xx. */
  get inMessage(): boolean {
    const s = this.state;
    if (s === S_HEAD) return this.secBytes > 0 || this.awaitingFinal;
    return s < S_DEAD;
  }

  /** Feed bytes. Processes until consumed, paused, or error. While paused the bytes are copied and retained. */
  execute(chunk: Uint8Array): void {
    if (this.state === S_DETACHED) throw new Error("http1 parser: execute() after takeRemainder()");
    if (this.state === S_DEAD || chunk.length === 0) return;
    if (this.paused || this.running) {
      this.pending = this.pending === null ? chunk.slice() : concatBytes([this.pending, chunk]);
      return;
    }
    this.drive(chunk, false);
  }

  /** Bytes received but not parsed yet (held while paused, or the rest of the chunk being parsed). */
  get bufferedBytes(): number {
    const inChunk = this.running ? this.cur.length - this.curPos : 0;
    return inChunk + (this.pending === null ? 0 : this.pending.length);
  }

  /** No further events until resume(). Callable from inside a handler; the rest of the input is retained. */
  pause(): void {
    if (this.state < S_DEAD) this.paused = true;
  }

  /** Continue synchronously with the retained bytes. Inside a handler it just lets the current loop go on. */
  resume(): void {
    if (!this.paused || this.state >= S_DEAD) return;
    this.paused = false;
    if (this.running) return;
    const p = this.pending;
    this.pending = null;
    this.drive(p ?? EMPTY, true);
  }

  /**
   * The bytes received but not parsed (e.g. tunnel data after an Upgrade/CONNECT message ended), as an owned
   * copy; the parser is then detached (execute() throws, other calls are no-ops). Works inside a handler too.
   */
  takeRemainder(): Uint8Array {
    if (this.state === S_DETACHED) return EMPTY;
    let out: Uint8Array = EMPTY;
    if (this.running && this.curPos < this.cur.length) out = this.cur.slice(this.curPos);
    if (this.pending !== null) out = out.length === 0 ? this.pending : concatBytes([out, this.pending]);
    this.pending = null;
    this.cur = EMPTY;
    this.hbuf = EMPTY;
    this.state = S_DETACHED;
    return out;
  }

  /** The peer closed its side. Ends a close-delimited body; mid-message it is an error (TRUNCATED). */
  finish(): void {
    if (this.state >= S_DEAD || this.eof) return;
    this.eof = true;
    if (!this.running && !this.paused) this.onEof();
  }

  // ---------------------------------------------------------------------------------------------------------

  private drive(first: Uint8Array, owned: boolean): void {
    this.running = true;
    try {
      let b = first;
      let own = owned;
      for (;;) {
        const pos = this.step(b, 0);
        if (this.state >= S_DEAD) {
          this.pending = null;
          return;
        }
        if (this.paused) {
          if (pos < b.length) {
            const rest = own ? b.subarray(pos) : b.slice(pos);
            this.pending = this.pending === null ? rest : concatBytes([rest, this.pending]);
          }
          return;
        }
        const p = this.pending;
        if (p === null) break;
        this.pending = null;
        b = p;
        own = true;
      }
      if (this.eof) this.onEof();
    } finally {
      this.running = false;
      this.cur = EMPTY;
    }
  }

  /** Delivers the body bytes in buf[pos, end) that belong to the current length or chunk; returns the new position. */
  private bodyPiece(buf: Uint8Array, pos: number, end: number, doneState: number): number {
    let e = end;
    if (end - pos >= this.remaining) {
      e = pos + this.remaining;
      this.remaining = 0;
      this.state = doneState;
    } else {
      this.remaining -= end - pos;
    }
    this.cur = buf;
    this.curPos = e;
    this.h.onBody(buf.subarray(pos, e));
    return e;
  }

  private onEof(): void {
    if (this.state === S_BODY_CLOSE) {
      this.endMessage(EMPTY, 0);
    } else if (this.inMessage) {
      this.fail("TRUNCATED", 400, "connection closed in the middle of a message");
    }
  }

  /** Process `buf` from `pos`; returns the position reached (buf.length when consumed). */
  private step(buf: Uint8Array, pos: number): number {
    const end = buf.length;
    for (;;) {
      if (this.paused || this.state >= S_DEAD) return pos;
      switch (this.state) {
        case S_HEAD:
        case S_TRAILERS: {
          if (pos >= end) return pos;
          this.scanStart = pos;
          const r = this.scan(buf, pos);
          if (r === -2) return end;
          const s = this.scanStart;
          if (r === -1) {
            this.append(buf, s, end);
            return end;
          }
          let hb = buf;
          let hs = s;
          let he = r;
          if (this.hlen > 0) {
            this.append(buf, s, r);
            hb = this.hbuf;
            hs = 0;
            he = this.hlen;
          }
          this.hlen = 0;
          if (this.hbuf.length > 16384) this.hbuf = EMPTY; // don't keep a large head buffer per connection
          this.secBytes = 0;
          this.secLines = 0;
          pos = r;
          this.cur = buf;
          this.curPos = pos;
          if (this.state === S_HEAD) this.onSection(hb, hs, he);
          else this.onTrailerSection(hb, hs, he);
          continue;
        }
        case S_END:
          this.endMessage(buf, pos);
          continue;
        case S_BODY_LEN:
          if (pos >= end) return pos;
          pos = this.bodyPiece(buf, pos, end, S_END);
          continue;
        case S_CHUNK_SIZE:
          if (pos >= end) return pos;
          pos = this.chunkSizeLine(buf, pos, end);
          continue;
        case S_CHUNK_DATA:
          if (pos >= end) return pos;
          pos = this.bodyPiece(buf, pos, end, S_CHUNK_DATA_CR);
          continue;
        case S_CHUNK_DATA_CR:
          if (pos >= end) return pos;
          if (buf[pos] !== CR) return this.failChunk("missing CRLF after chunk data");
          pos++;
          this.state = S_CHUNK_DATA_LF;
          continue;
        case S_CHUNK_DATA_LF:
          if (pos >= end) return pos;
          if (buf[pos] !== LF) return this.failChunk("missing CRLF after chunk data");
          pos++;
          this.beginChunkSize();
          continue;
        case S_BODY_CLOSE: {
          if (pos >= end) return pos;
          const view = pos === 0 ? buf : buf.subarray(pos);
          pos = end;
          this.cur = buf;
          this.curPos = pos;
          this.h.onBody(view);
          continue;
        }
        default:
          return end;
      }
    }
  }

  private endMessage(buf: Uint8Array, pos: number): void {
    const t = this.trailers;
    this.trailers = null;
    this.state = S_HEAD;
    this.paused = true;
    this.cur = buf;
    this.curPos = pos;
    this.h.onEnd(t);
  }

  /** Set the state after a head was parsed; for bodyless messages the end follows (after any pause in onHead). */
  protected beginBody(kind: BodyKind, contentLength: number): void {
    this.trailers = null;
    if (kind === "length" && contentLength > 0) {
      this.remaining = contentLength;
      this.state = S_BODY_LEN;
    } else if (kind === "chunked") {
      this.beginChunkSize();
    } else if (kind === "close") {
      this.state = S_BODY_CLOSE;
    } else {
      this.state = S_END;
    }
  }

  private beginChunkSize(): void {
    this.state = S_CHUNK_SIZE;
    this.cs = C_SIZE;
    this.cDigits = 0;
    this.extBytes = 0;
    this.remaining = 0;
  }

  /** Scan a chunk-size line: 1*HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) CRLF. */
  private chunkSizeLine(buf: Uint8Array, pos: number, end: number): number {
    while (pos < end) {
      const c = buf[pos++]!;
      switch (this.cs) {
        case C_SIZE: {
          const d = HEX[c]!;
          if (d !== 255) {
            if (++this.cDigits > MAX_CHUNK_SIZE_DIGITS) return this.failChunk("chunk size has too many digits");
            const v = this.remaining * 16 + d;
            if (v > Number.MAX_SAFE_INTEGER) return this.failChunk("chunk size too large");
            this.remaining = v;
            break;
          }
          if (this.cDigits === 0) return this.failChunk("missing or invalid chunk size");
          if (c === CR) this.cs = C_LF;
          else if (c === SEMI) this.cs = C_EXT;
          else if (c === SP || c === HTAB) this.cs = C_SIZE_WS;
          else return this.failChunk("invalid character in chunk size");
          break;
        }
        case C_SIZE_WS:
          if (c === SEMI) this.cs = C_EXT;
          else if (c !== SP && c !== HTAB) return this.failChunk("invalid chunk size line");
          break;
        case C_EXT:
          if (++this.extBytes > MAX_CHUNK_EXT_BYTES) return this.failChunk("chunk extension too long");
          if (c === CR) this.cs = C_LF;
          else if (c === DQUOTE) this.cs = C_EXT_Q;
          else if (TOKEN[c] === 0 && c !== SP && c !== HTAB && c !== SEMI && c !== EQ) {
            return this.failChunk("invalid character in chunk extension");
          }
          break;
        case C_EXT_Q:
          if (++this.extBytes > MAX_CHUNK_EXT_BYTES) return this.failChunk("chunk extension too long");
          if (c === DQUOTE) this.cs = C_EXT;
          else if (c === BSLASH) this.cs = C_EXT_QESC;
          else if (FIELD_VALUE[c] === 0) return this.failChunk("invalid character in chunk extension");
          break;
        case C_EXT_QESC:
          if (++this.extBytes > MAX_CHUNK_EXT_BYTES) return this.failChunk("chunk extension too long");
          if (FIELD_VALUE[c] === 0) return this.failChunk("invalid character in chunk extension");
          this.cs = C_EXT_Q;
          break;
        default: // C_LF
          if (c !== LF) return this.failChunk("bare CR in chunk size line");
          if (this.remaining === 0) {
            this.state = S_TRAILERS;
            this.secBytes = 0;
            this.secLines = 0;
            this.lineLen = 0;
            this.lastCR = false;
            this.hlen = 0;
          } else {
            this.state = S_CHUNK_DATA;
          }
          return pos;
      }
    }
    return pos;
  }

  private failChunk(msg: string): number {
    this.fail("BAD_CHUNK", 400, msg);
    return 0; // the position no longer matters: the parser is dead and step()/drive() stop at their next check
  }

  /**
   * Find the end of a head or trailer section (the empty line) in `buf` from `pos`, tracking lines and limits
   * across chunks. Returns the index after the terminating CRLF, -1 if more input is needed, -2 on error.
   */
  private scan(buf: Uint8Array, pos: number): number {
    const end = buf.length;
    const inHead = this.state === S_HEAD;
    const limit = inHead ? this.maxHeader : this.maxTrailer;
    const lineLimited = inHead && this.isRequest;
    let i = pos;
    for (;;) {
      let lf = i;
      while (lf < end && buf[lf] !== LF) lf++;
      if (lf === end) {
        const n = end - i;
        if (n > 0) {
          this.lineLen += n;
          this.secBytes += n;
          this.lastCR = buf[end - 1] === CR;
        }
        if (lineLimited && this.secLines === 0 && this.lineLen - (this.lastCR ? 1 : 0) > this.maxLine) {
          return this.failScan("URI_TOO_LONG", 414, "request line too long");
        }
        if (this.secBytes > limit) return this.failTooLarge(inHead);
        return -1;
      }
      const n = lf - i;
      const prevCR = n > 0 ? buf[lf - 1] === CR : this.lastCR;
      const total = this.lineLen + n; // line length including its CR
      this.secBytes += n + 1;
      if (!prevCR) return this.failScan("INVALID_CHARACTER", 400, "bare LF line ending (CRLF required)");
      if (lineLimited && this.secLines === 0 && total - 1 > this.maxLine) {
        return this.failScan("URI_TOO_LONG", 414, "request line too long");
      }
      if (this.secBytes > limit) return this.failTooLarge(inHead);
      this.lineLen = 0;
      this.lastCR = false;
      i = lf + 1;
      if (total === 1) {
        if (inHead && this.secLines === 0) {
          // An empty line before the start line is ignored (RFC 9112 §2.2).
          this.secBytes = 0;
          this.hlen = 0;
          this.scanStart = i;
          continue;
        }
        return i;
      }
      this.secLines++;
    }
  }

  private failTooLarge(inHead: boolean): number {
    return inHead
      ? this.failScan("HEADERS_TOO_LARGE", 431, "header section too large")
      : this.failScan("TRAILERS_TOO_LARGE", 400, "trailer section too large");
  }

  private failScan(code: Http1ErrorCode, status: number, msg: string): number {
    this.fail(code, status, msg);
    return -2;
  }

  private append(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const need = this.hlen + n;
    if (need > this.hbuf.length) {
      const nb = new Uint8Array(Math.max(need, this.hbuf.length * 2, 1024));
      nb.set(this.hbuf.subarray(0, this.hlen));
      this.hbuf = nb;
    }
    this.hbuf.set(buf.subarray(start, end), this.hlen);
    this.hlen = need;
  }

  /** Report an error (status is replaced by 502 for responses) and stop for good. */
  protected fail(code: Http1ErrorCode, status: number, msg: string): false {
    if (this.state >= S_DEAD) return false;
    this.state = S_DEAD;
    this.pending = null;
    this.paused = false;
    this.hbuf = EMPTY;
    this.h.onError(new Http1Error(code, this.isRequest ? status : 502, (this.isRequest ? "" : "upstream: ") + msg));
    return false;
  }

  /** A complete head section in buf[start, end) (end is after the final CRLF CRLF). */
  protected abstract onSection(buf: Uint8Array, start: number, end: number): void;

  private onTrailerSection(buf: Uint8Array, start: number, end: number): void {
    const list: HeaderList = [];
    if (!this.parseFields(buf, start, end, list, false)) return;
    this.trailers = list.length > 0 ? list : null;
    this.state = S_END;
  }

  /**
   * Parse field lines from `pos` (the start of a line) up to the empty line. Framing fields are recorded in the
   * f* members when `framing` is set. Returns false after reporting an error.
   */
  protected parseFields(buf: Uint8Array, pos: number, end: number, out: HeaderList, framing: boolean): boolean {
    if (framing) {
      this.fContentLength = -1;
      this.fTE = null;
      this.fConnection = null;
      this.fUpgrade = null;
      this.fExpectContinue = false;
      this.fHosts = 0;
    }
    // Every line ends in CRLF (scan() checked that each LF follows a CR), so the byte loops below stop at a CR
    // at the latest and need no bounds checks. A CR not followed by LF is a bare CR.
    while (pos < end) {
      const c0 = buf[pos]!;
      if (c0 === CR) return true; // the empty line
      if (c0 === SP || c0 === HTAB) return this.fail("OBS_FOLD", 400, "obsolete line folding in header section");
      let i = pos;
      while (TOKEN[buf[i]!] === 1) i++;
      const c = buf[i]!;
      if (c !== COLON) {
        if (c === SP || c === HTAB) {
          let k = i;
          while (buf[k] === SP || buf[k] === HTAB) k++;
          if (buf[k] === COLON) {
            return this.fail("WHITESPACE_BEFORE_COLON", 400, "whitespace between header name and colon");
          }
          return this.fail("BAD_HEADER", 400, "invalid character in header name");
        }
        if (c === CR && buf[i + 1] === LF) return this.fail("BAD_HEADER", 400, "header line without a colon");
        if (c < 0x20 || c === 0x7f) return this.fail("INVALID_CHARACTER", 400, "control character in header name");
        return this.fail("BAD_HEADER", 400, "invalid character in header name");
      }
      if (i === pos) return this.fail("BAD_HEADER", 400, "empty header name");
      let k = i + 1;
      while (buf[k] === SP || buf[k] === HTAB) k++;
      const vs = k;
      let ve = k;
      for (;;) {
        const b = buf[k]!;
        if (FIELD_VALUE[b] === 0) break;
        k++;
        if (b !== SP && b !== HTAB) ve = k;
      }
      if (buf[k] !== CR || buf[k + 1] !== LF) {
        return this.fail("INVALID_CHARACTER", 400, "invalid character in header value");
      }
      const name = internLatin1(buf, pos, i);
      const value = internLatin1(buf, vs, ve);
      out.push(name, value);
      if (framing && !this.framingField(name, value)) return false;
      pos = k + 2;
    }
    return true;
  }

  private framingField(name: string, value: string): boolean {
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === "host") this.fHosts++;
        break;
      case 6:
        if (name.toLowerCase() === "expect" && value.toLowerCase() === "100-continue") this.fExpectContinue = true;
        break;
      case 7:
        if (name.toLowerCase() === "upgrade") this.fUpgrade = this.fUpgrade === null ? value : this.fUpgrade + ", " + value;
        break;
      case 10:
        if (name.toLowerCase() === "connection") {
          this.fConnection = this.fConnection === null ? value : this.fConnection + "," + value;
        }
        break;
      case 14:
        if (name.toLowerCase() === "content-length") return this.contentLength(value);
        break;
      case 17:
        if (name.toLowerCase() === "transfer-encoding") this.fTE = this.fTE === null ? value : this.fTE + "," + value;
        break;
    }
    return true;
  }

  /** Content-Length: 1*DIGIT, or a list of identical values ("5, 5"); all lines must agree. */
  private contentLength(value: string): boolean {
    let n = -1;
    let start = 0;
    const len = value.length;
    for (;;) {
      let comma = value.indexOf(",", start);
      if (comma === -1) comma = len;
      let s = start;
      let e = comma;
      while (s < e && (value.charCodeAt(s) === SP || value.charCodeAt(s) === HTAB)) s++;
      while (e > s && (value.charCodeAt(e - 1) === SP || value.charCodeAt(e - 1) === HTAB)) e--;
      if (s === e || e - s > 16) return this.fail("BAD_CONTENT_LENGTH", 400, "invalid Content-Length");
      let v = 0;
      for (let k = s; k < e; k++) {
        const d = value.charCodeAt(k) - 48;
        if (d < 0 || d > 9) return this.fail("BAD_CONTENT_LENGTH", 400, "invalid Content-Length");
        v = v * 10 + d;
      }
      if (v > Number.MAX_SAFE_INTEGER) return this.fail("BAD_CONTENT_LENGTH", 400, "Content-Length too large");
      if (n !== -1 && v !== n) return this.fail("DUPLICATE_CONTENT_LENGTH", 400, "differing Content-Length values");
      n = v;
      if (comma === len) break;
      start = comma + 1;
    }
    if (this.fContentLength !== -1 && this.fContentLength !== n) {
      return this.fail("DUPLICATE_CONTENT_LENGTH", 400, "differing Content-Length values");
    }
    this.fContentLength = n;
    return true;
  }

  /**
   * Validate Transfer-Encoding: only a single `chunked` coding is accepted. `chunked` not last (or repeated) or
   * an empty list -> 400; any other coding -> 501. Returns false after reporting an error.
   */
  protected checkTransferEncoding(te: string): boolean {
    const parts = te.split(",");
    let count = 0;
    let last = "";
    let chunkedNotLast = false;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!.trim().toLowerCase();
      if (p === "") continue; // empty list elements are allowed (RFC 9110 §5.6.1)
      if (count > 0 && last === "chunked") chunkedNotLast = true;
      last = p;
      count++;
    }
    if (count === 0) return this.fail("BAD_TRANSFER_ENCODING", 400, "empty Transfer-Encoding");
    if (chunkedNotLast) return this.fail("BAD_TRANSFER_ENCODING", 400, "chunked is not the final transfer coding");
    if (last !== "chunked" || count > 1) {
      return this.fail("UNSUPPORTED_TRANSFER_ENCODING", 501, "only Transfer-Encoding: chunked is supported");
    }
    return true;
  }

  /** Content-Length with Transfer-Encoding, and the coding itself. Returns false after reporting an error. */
  protected checkFraming(): boolean {
    if (this.fTE === null) return true;
    if (this.fContentLength !== -1) {
      this.fail("CL_AND_TE", 400, "both Content-Length and Transfer-Encoding");
      return false;
    }
    return this.checkTransferEncoding(this.fTE);
  }

  /** Connection tokens -> bit 1 close, bit 2 keep-alive, bit 4 upgrade. */
  protected connectionFlags(): number {
    const v = this.fConnection;
    if (v === null) return 0;
    // Fast path for the usual single token.
    const l = v.length;
    if (l === 10 && v.toLowerCase() === "keep-alive") return 2;
    if (l === 5 && v.toLowerCase() === "close") return 1;
    if (l === 7 && v.toLowerCase() === "upgrade") return 4;
    let f = 0;
    const parts = v.split(",");
    for (let k = 0; k < parts.length; k++) {
      const t = parts[k]!.trim().toLowerCase();
      if (t === "close") f |= 1;
      else if (t === "keep-alive") f |= 2;
      else if (t === "upgrade") f |= 4;
    }
    return f;
  }

  /** HTTP/1.x version at buf[i, i+8): 10, 11, 0 for another HTTP version, -1 if malformed. */
  protected static version(buf: Uint8Array, i: number): number {
    if (
      buf[i] !== 0x48 || buf[i + 1] !== 0x54 || buf[i + 2] !== 0x54 || buf[i + 3] !== 0x50 ||
      buf[i + 4] !== 0x2f || buf[i + 6] !== 0x2e
    ) return -1;
    const major = buf[i + 5]! - 48;
    const minor = buf[i + 7]! - 48;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return -1;
    if (major === 1 && minor === 1) return 11;
    if (major === 1 && minor === 0) return 10;
    return 0;
  }
}

/** Parses requests from a client connection. */
export class RequestParser extends Http1Parser<RequestHead> {
  constructor(handlers: ParserHandlers<RequestHead>, limits?: ParserLimits) {
    super(handlers, limits, true);
  }

  protected onSection(buf: Uint8Array, start: number, end: number): void {
    // request-line = method SP request-target SP HTTP-version CRLF
    const le = lineEnd(buf, start);
    const lf = le + 1;
    if (buf[lf] !== LF) {
      this.fail("INVALID_CHARACTER", 400, "bare CR in the start line");
      return;
    }
    let i = start;
    while (i < le && TOKEN[buf[i]!] === 1) i++;
    if (i === start) {
      this.fail(buf[i] === SP ? "BAD_REQUEST_LINE" : "BAD_METHOD", 400, "invalid request method");
      return;
    }
    if (i === le) {
      this.fail("BAD_REQUEST_LINE", 400, "malformed request line");
      return;
    }
    if (buf[i] !== SP) {
      this.fail("BAD_METHOD", 400, "invalid character in request method");
      return;
    }
    const method = internLatin1(buf, start, i);
    const ts = ++i;
    while (i < le && buf[i]! > 0x20 && buf[i]! < 0x7f) i++;
    if (i === ts || i === le || buf[i] !== SP) {
      this.fail("BAD_REQUEST_LINE", 400, "invalid request target");
      return;
    }
    const target = latin1(buf, ts, i);
    i++;
    if (le - i !== 8) {
      this.fail("BAD_REQUEST_LINE", 400, "malformed HTTP version");
      return;
    }
    const version = Http1Parser.version(buf, i);
    if (version < 0) {
      this.fail("BAD_REQUEST_LINE", 400, "malformed HTTP version");
      return;
    }
    if (version === 0) {
      this.fail("BAD_VERSION", 505, "HTTP version not supported");
      return;
    }
    const isConnect = method === "CONNECT";
    if (!validTarget(target, isConnect, method)) {
      this.fail("BAD_REQUEST_LINE", 400, "request target form not allowed");
      return;
    }

    const headers: HeaderList = [];
    if (!this.parseFields(buf, lf + 1, end, headers, true)) return;
    if (this.fHosts > 1) {
      this.fail("DUPLICATE_HOST", 400, "more than one Host header");
      return;
    }

    let bodyKind: BodyKind = "none";
    let contentLength = 0;
    const conn = this.connectionFlags();
    let keepAlive = keepAliveFor(version, conn);
    if (!this.checkFraming()) return;
    if (this.fTE !== null) {
      bodyKind = "chunked";
      // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing; close after this message.
      if (version === 10) keepAlive = false;
    } else if (this.fContentLength !== -1) {
      bodyKind = "length";
      contentLength = this.fContentLength;
    }
    if (isConnect) {
      // The bytes after a CONNECT head belong to the tunnel.
      bodyKind = "none";
      contentLength = 0;
    }
    const upgrade = version === 11 && (conn & 4) !== 0 ? this.fUpgrade : null;
    const head: RequestHead = {
      version: version as 10 | 11,
      headers,
      bodyKind,
      contentLength,
      keepAlive,
      upgrade,
      method,
      target,
      expectContinue: version === 11 && this.fExpectContinue,
    };
    this.beginBody(bodyKind, contentLength);
    this.h.onHead(head);
  }
}

function validTarget(t: string, isConnect: boolean, method: string): boolean {
  const c0 = t.charCodeAt(0);
  if (isConnect) {
    // authority-form: host ":" port
    const colon = t.lastIndexOf(":");
    return colon > 0 && colon < t.length - 1 && t.indexOf("/") === -1 && t.indexOf("@") === -1;
  }
  if (c0 === 0x2f) return true; // origin-form
  if (t === "*") return method === "OPTIONS"; // asterisk-form
  // absolute-form: scheme ":" ...; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  if (!((c0 | 0x20) >= 0x61 && (c0 | 0x20) <= 0x7a)) return false;
  for (let k = 1; k < t.length; k++) {
    const c = t.charCodeAt(k);
    if (c === COLON) return k < t.length - 1;
    const l = c | 0x20;
    if (!((l >= 0x61 && l <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)) return false;
  }
  return false;
}

/** Parses responses from an upstream connection. Call expect(method) for each request sent. */
export class ResponseParser extends Http1Parser<ResponseHead> {
  private methods: string[] = [];

  constructor(handlers: ParserHandlers<ResponseHead>, limits?: ParserLimits) {
    super(handlers, limits, false);
  }

  /**
   * Queue the method of a request whose response is expected (FIFO, so it may be called ahead for pipelined
   * requests). Without one, GET is assumed.
   */
  expect(method: string): void {
    this.methods.push(method);
  }

  protected onSection(buf: Uint8Array, start: number, end: number): void {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF  (a missing final SP is tolerated)
    const le = lineEnd(buf, start);
    const lf = le + 1;
    if (buf[lf] !== LF) {
      this.fail("INVALID_CHARACTER", 400, "bare CR in the start line");
      return;
    }
    if (le - start < 12) {
      this.fail("BAD_STATUS_LINE", 502, "malformed status line");
      return;
    }
    const version = Http1Parser.version(buf, start);
    if (version < 0 || buf[start + 8] !== SP) {
      this.fail("BAD_STATUS_LINE", 502, "malformed status line");
      return;
    }
    if (version === 0) {
      this.fail("BAD_VERSION", 502, "HTTP version not supported");
      return;
    }
    const d0 = buf[start + 9]! - 48;
    const d1 = buf[start + 10]! - 48;
    const d2 = buf[start + 11]! - 48;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (le > start + 12 && buf[start + 12] !== SP)) {
      this.fail("BAD_STATUS_LINE", 502, "invalid status code");
      return;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    const rs = le > start + 12 ? start + 13 : le;
    for (let k = rs; k < le; k++) {
      if (FIELD_VALUE[buf[k]!] === 0) {
        this.fail("BAD_STATUS_LINE", 502, "invalid character in reason phrase");
        return;
      }
    }
    const reason = latin1(buf, rs, le);

    const headers: HeaderList = [];
    if (!this.parseFields(buf, lf + 1, end, headers, true)) return;

    const informational = status < 200 && status !== 101;
    const method = informational ? (this.methods[0] ?? "GET") : (this.methods.shift() ?? "GET");
    const conn = this.connectionFlags();
    let keepAlive = keepAliveFor(version, conn);
    if (!this.checkFraming()) return;
    const cl = this.fContentLength;
    let bodyKind: BodyKind;
    const tunnel = status === 101 || (method === "CONNECT" && status >= 200 && status < 300);
    if (status < 200 || tunnel || status === 204 || status === 304 || method === "HEAD") bodyKind = "none";
    else if (this.fTE !== null) bodyKind = "chunked";
    else if (cl !== -1) bodyKind = "length";
    else bodyKind = "close";
    if (bodyKind === "close") keepAlive = false;
    const head: ResponseHead = {
      version: version as 10 | 11,
      headers,
      bodyKind,
      // The declared length, also for HEAD/304 (where it describes the representation, not this message); else 0.
      contentLength: cl === -1 ? 0 : cl,
      keepAlive,
      upgrade: status === 101 ? (this.fUpgrade ?? "") : (conn & 4) !== 0 ? this.fUpgrade : null,
      status,
      reason,
    };
    if (informational) {
      this.awaitingFinal = true; // state stays S_HEAD: the next head follows, no onEnd
      this.h.onHead(head);
      return;
    }
    this.awaitingFinal = false;
    this.beginBody(bodyKind, bodyKind === "length" ? cl : 0);
    this.h.onHead(head);
  }
}

/** Index of the CR ending the line at `start` (the section holds CRLFs, so one exists). A bare CR ends it too and
 * is then rejected by the start-line checks, which never accept a CR. */
function lineEnd(buf: Uint8Array, start: number): number {
  let i = start;
  while (buf[i] !== CR) i++;
  return i;
}

/** Persistence from the version and the Connection flags (HTTP/1.1: unless close; HTTP/1.0: only with keep-alive). */
function keepAliveFor(version: number, conn: number): boolean {
  return version === 11 ? (conn & 1) === 0 : (conn & 3) === 2;
}
