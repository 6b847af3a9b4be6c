// The contract of the HTTP/1.1 codec, used by the proxy engine.

/** Headers as a flat list: [name0, value0, name1, value1, ...]; names keep their case as received, values are latin1. */
export type HeaderList = string[];

/** How a message body is framed on the wire. */
export type BodyKind =
  | "none" // no body (HEAD response, 204, 304, 1xx, request without CL/TE)
  | "length" // Content-Length bytes
  | "chunked" // Transfer-Encoding: chunked
  | "close"; // response read until the connection closes (no CL, no TE)

interface MessageHead {
  /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
  version: 10 | 11;
  headers: HeaderList;
  bodyKind: BodyKind;
  /** Valid when bodyKind is "length". */
  contentLength: number;
  /** Whether the connection may carry another message after this one (version defaults + Connection header). */
  keepAlive: boolean;
  /** Connection: upgrade with an Upgrade header present (its value in `upgrade`). */
  upgrade: string | null;
}

export interface RequestHead extends MessageHead {
  method: string;
  /** The request target exactly as received (origin-form, absolute-form, authority-form or "*"). */
  target: string;
  /** Expect: 100-continue was present. */
  expectContinue: boolean;
}

export interface ResponseHead extends MessageHead {
  status: number;
  reason: string;
}

/** Stable codes for rejected messages; `status` is what a server answers for a bad request. */
export type Http1ErrorCode =
  | "BAD_REQUEST_LINE"
  | "BAD_STATUS_LINE"
  | "BAD_VERSION"
  | "URI_TOO_LONG"
  | "HEADERS_TOO_LARGE"
  | "BAD_HEADER"
  | "OBS_FOLD"
  | "WHITESPACE_BEFORE_COLON"
  | "INVALID_CHARACTER"
  | "CL_AND_TE"
  | "BAD_CONTENT_LENGTH"
  | "DUPLICATE_CONTENT_LENGTH"
  | "UNSUPPORTED_TRANSFER_ENCODING"
  | "BAD_CHUNK"
  | "TRAILERS_TOO_LARGE"
  | "BAD_METHOD"
  /** Transfer-Encoding with `chunked` not last, repeated, or an empty coding list (400). */
  | "BAD_TRANSFER_ENCODING"
  /** More than one Host field in a request (400). */
  | "DUPLICATE_HOST"
  /** The peer closed the connection in the middle of a message (finish() mid-message). */
  | "TRUNCATED";

export class Http1Error extends Error {
  readonly code: Http1ErrorCode;
  /** 400, 414, 431, 501 or 505 when a request is rejected; 502 when a response is. */
  readonly status: number;
  constructor(code: Http1ErrorCode, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
    this.name = "Http1Error";
  }
}

export interface ParserHandlers<H> {
  /** A complete head. For responses, 1xx heads (other than 101) are reported and parsing continues with the next head. */
  onHead(head: H): void;
  /** A piece of body (chunk framing removed). The view may alias the input chunk; it is not reused by the parser. */
  onBody(chunk: Uint8Array): void;
  /** End of the message; trailers (chunked only) as a HeaderList, or null. */
  onEnd(trailers: HeaderList | null): void;
  /** The input is malformed; the parser stops for good. */
  onError(err: Http1Error): void;
}

export interface ParserLimits {
  /** Maximum size of the whole header section (request line + fields); 64 KiB by default. */
  maxHeaderBytes?: number;
  /** Maximum request-line length; 8 KiB by default (longer lines get 414). */
  maxRequestLineBytes?: number;
  /** Maximum size of a trailer section; 64 KiB by default. */
  maxTrailerBytes?: number;
}
