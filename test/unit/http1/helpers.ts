// Test helpers: feed a message to a parser at various split points and record normalized events.

import { RequestParser, ResponseParser } from "../../../core/http1/parser.ts";
import type { HeaderList, Http1Error, RequestHead, ResponseHead } from "../../../core/http1/types.ts";

export type Ev =
  | { t: "head"; head: RequestHead | ResponseHead }
  | { t: "body"; data: string }
  | { t: "end"; trailers: HeaderList | null }
  | { t: "error"; code: string; status: number };

export const bytes = (s: string): Uint8Array => {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
};
export const str = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
};

export interface RunOpts {
  /** Resume from inside onEnd (tests re-entrancy); for responses, expect(methods[i]) first. */
  autoResume?: boolean;
  /** Methods for ResponseParser.expect(), one per response (queued before parsing). */
  methods?: string[];
  finish?: boolean;
  limits?: { maxHeaderBytes?: number; maxRequestLineBytes?: number; maxTrailerBytes?: number };
}

/** Feed `chunks` to a parser of `kind`; returns the events with adjacent body pieces merged. */
export function run(kind: "req" | "res", chunks: Uint8Array[], opts: RunOpts = {}): Ev[] {
  const ev: Ev[] = [];
  const autoResume = opts.autoResume ?? true;
  // eslint-disable-next-line prefer-const
  let p: RequestParser | ResponseParser;
  const handlers = {
    onHead(head: RequestHead & ResponseHead) {
      ev.push({ t: "head", head });
    },
    onBody(chunk: Uint8Array) {
      const last = ev[ev.length - 1];
      if (last !== undefined && last.t === "body") last.data += str(chunk);
      else ev.push({ t: "body", data: str(chunk) });
    },
    onEnd(trailers: HeaderList | null) {
      ev.push({ t: "end", trailers });
      if (autoResume) p.resume();
    },
    onError(err: Http1Error) {
      ev.push({ t: "error", code: err.code, status: err.status });
    },
  };
  if (kind === "req") p = new RequestParser(handlers, opts.limits);
  else {
    const rp = new ResponseParser(handlers, opts.limits);
    for (const m of opts.methods ?? []) rp.expect(m);
    p = rp;
  }
  for (const c of chunks) p.execute(c);
  if (opts.finish) p.finish();
  return ev;
}

/** One chunk per byte. */
export function byteByByte(input: string): Uint8Array[] {
  const b = bytes(input);
  return Array.from(b, (_, i) => b.subarray(i, i + 1));
}

/** Every way of feeding `input`: whole, byte by byte, and every 2-way split. */
export function splits(input: string): { name: string; chunks: Uint8Array[] }[] {
  const b = bytes(input);
  const out = [{ name: "whole", chunks: [b] }];
  out.push({ name: "byte-by-byte", chunks: Array.from(b, (_, i) => b.slice(i, i + 1)) });
  for (let i = 1; i < b.length; i++) out.push({ name: `split@${i}`, chunks: [b.slice(0, i), b.slice(i)] });
  return out;
}

/** Head fields worth comparing in tables (drops undefined keys of the expectation). */
export function pick(head: object, keys: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = (head as Record<string, unknown>)[k];
  return o;
}

export type Expect =
  | { head: Record<string, unknown> }
  | { body: string }
  | { end: HeaderList | null }
  | { error: string; status: number };

/** Project actual events onto the shape of the expectation (head: only the listed keys). */
export function shape(ev: Ev[], expected: Expect[]): Expect[] {
  return ev.map((e, i) => {
    const x = expected[i];
    switch (e.t) {
      case "head":
        return { head: pick(e.head, x !== undefined && "head" in x ? Object.keys(x.head) : ["status", "method"]) };
      case "body":
        return { body: e.data };
      case "end":
        return { end: e.trailers };
      case "error":
        return { error: e.code, status: e.status };
    }
  });
}
