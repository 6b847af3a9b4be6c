// SETTINGS (RFC 9113 §6.5): the values we advertise, the peer's, and their defaults.

import { DEFAULT_INITIAL_WINDOW, DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE, MAX_WINDOW, SettingId } from "./frames/constants.ts";

export interface Http2Settings {
  headerTableSize: number;
  enablePush: boolean;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
  enableConnectProtocol: boolean;
}

/** "Unlimited" for MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE: the largest value the wire can carry. */
export const UNLIMITED = 0xffffffff;

/** The values in force until a SETTINGS frame says otherwise (§6.5.2). */
export function protocolDefaults(): Http2Settings {
  return {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: UNLIMITED,
    initialWindowSize: DEFAULT_INITIAL_WINDOW,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: UNLIMITED,
    enableConnectProtocol: false,
  };
}

/**
 * The concurrency we assume of a server until its first SETTINGS arrives (RFC 9113 leaves it unlimited, which
 * would let a pool open hundreds of streams only to have them refused; Go's transport assumes 100 as well).
 */
export const ASSUMED_PEER_MAX_CONCURRENT_STREAMS = 100;

export const DEFAULT_CONNECTION_WINDOW = 1024 * 1024;

export interface LocalSettingsOptions {
  maxConcurrentStreams?: number | undefined;
  initialWindowSize?: number | undefined;
  maxFrameSize?: number | undefined;
  maxHeaderListSize?: number | undefined;
  headerTableSize?: number | undefined;
  enableConnectProtocol?: boolean | undefined;
}

/** Our settings from the options; push is always disabled, a client advertises 100 streams as a server does. */
export function localSettings(o: LocalSettingsOptions): Http2Settings {
  return {
    headerTableSize: check("headerTableSize", o.headerTableSize ?? 4096, 0, UNLIMITED),
    enablePush: false,
    maxConcurrentStreams: check("maxConcurrentStreams", o.maxConcurrentStreams ?? 100, 0, UNLIMITED),
    initialWindowSize: check("initialWindowSize", o.initialWindowSize ?? 65536, 0, MAX_WINDOW),
    maxFrameSize: check("maxFrameSize", o.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE),
    maxHeaderListSize: check("maxHeaderListSize", o.maxHeaderListSize ?? 65536, 0, UNLIMITED),
    enableConnectProtocol: o.enableConnectProtocol === true,
  };
}

export function checkConnectionWindow(n: number | undefined): number {
  return check("connectionWindowSize", n ?? DEFAULT_CONNECTION_WINDOW, DEFAULT_INITIAL_WINDOW, MAX_WINDOW);
}

function check(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`http2: ${name} ${v} outside ${min}..${max}`);
  return v;
}

/** The SETTINGS payload for ours: every value that differs from the protocol default, and push off. */
export function settingsPairs(s: Http2Settings, role: "client" | "server"): Array<[number, number]> {
  const d = protocolDefaults();
  const out: Array<[number, number]> = [];
  if (s.headerTableSize !== d.headerTableSize) out.push([SettingId.HEADER_TABLE_SIZE, s.headerTableSize]);
  if (role === "client") out.push([SettingId.ENABLE_PUSH, 0]);
  out.push([SettingId.MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams]);
  if (s.initialWindowSize !== d.initialWindowSize) out.push([SettingId.INITIAL_WINDOW_SIZE, s.initialWindowSize]);
  if (s.maxFrameSize !== d.maxFrameSize) out.push([SettingId.MAX_FRAME_SIZE, s.maxFrameSize]);
  out.push([SettingId.MAX_HEADER_LIST_SIZE, s.maxHeaderListSize]);
  if (role === "server" && s.enableConnectProtocol) out.push([SettingId.ENABLE_CONNECT_PROTOCOL, 1]);
  return out;
}

/** Applies one of the peer's settings (values already range-checked by the frame reader; unknown ids ignored, §6.5.2). */
export function applySetting(s: Http2Settings, id: number, value: number): void {
  switch (id) {
    case SettingId.HEADER_TABLE_SIZE:
      s.headerTableSize = value;
      break;
    case SettingId.ENABLE_PUSH:
      s.enablePush = value === 1;
      break;
    case SettingId.MAX_CONCURRENT_STREAMS:
      s.maxConcurrentStreams = value;
      break;
    case SettingId.INITIAL_WINDOW_SIZE:
      s.initialWindowSize = value;
      break;
    case SettingId.MAX_FRAME_SIZE:
      s.maxFrameSize = value;
      break;
    case SettingId.MAX_HEADER_LIST_SIZE:
      s.maxHeaderListSize = value;
      break;
    case SettingId.ENABLE_CONNECT_PROTOCOL:
      s.enableConnectProtocol = value === 1;
      break;
  }
}
