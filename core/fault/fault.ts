// Fault injection per route: a delay and/or an abort, each applied to a percentage of requests, plus opt-in
// header-triggered faults for tests (off by default). Pure: randomness is an argument.

import { getHeaderAll } from "../http1/headers.ts";
import type { HeaderList } from "../http1/types.ts";

export interface FaultDelay {
  readonly durationMs: number;
  /** 0..100, fractions allowed. */
  readonly percentage: number;
}

export interface FaultAbort {
  /** 200..599. */
  readonly httpStatus: number;
  readonly percentage: number;
}

export interface FaultPolicy {
  readonly delay?: FaultDelay;
  readonly abort?: FaultAbort;
}

export interface FaultDecision {
  readonly delayMs?: number;
  readonly abortStatus?: number;
}

export interface HeaderFaultOptions {
  /** Off unless set: only trusted clients should be allowed to trigger faults. */
  readonly enabled: boolean;
  readonly delayHeader?: string; // default "x-meshlet-fault-delay"
  readonly abortHeader?: string; // default "x-meshlet-fault-abort"
  /** Longest delay a header may ask for; default 60 000 ms. */
  readonly maxDelayMs?: number;
}

export const HEADER_FAULTS_OFF: HeaderFaultOptions = { enabled: false };

/**
 * Route faults. Delay and abort are decided independently; every decision draws random() exactly twice
 * (delay first, then abort), so a seeded sequence stays reproducible whatever the outcome.
 */
export class FaultInjector {
  private readonly delayP: number;
  private readonly abortP: number;
  constructor(readonly policy: FaultPolicy) {
    this.delayP = clampPct(policy.delay?.percentage ?? 0) / 100;
    this.abortP = clampPct(policy.abort?.percentage ?? 0) / 100;
  }

  decide(random: () => number): FaultDecision {
    const d = random() < this.delayP;
    const a = random() < this.abortP;
    const out: { delayMs?: number; abortStatus?: number } = {};
    if (d && this.policy.delay !== undefined) out.delayMs = this.policy.delay.durationMs;
    if (a && this.policy.abort !== undefined) out.abortStatus = this.policy.abort.httpStatus;
    return out;
  }
}

function clampPct(p: number): number {
  return Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0;
}

export type HeaderFaultResult =
  | { readonly ok: true; readonly fault: FaultDecision }
  | { readonly ok: false; readonly code: "BAD_FAULT_DELAY" | "BAD_FAULT_ABORT"; readonly message: string };

const DELAY_RE = /^(0|[1-9][0-9]{0,8})(ms|s)$/;
const ABORT_RE = /^[2-5][0-9][0-9]$/;

/**
 * Faults a request asks for in headers, when enabled. Strict: the delay is "<integer>ms" or "<integer>s" (no
 * spaces, signs, fractions or leading zeros), at most maxDelayMs; the abort is a three-digit status 200..599; a
 * header given more than once is malformed. Disabled: always {ok: true, fault: {}}, headers are not read.
 */
export function parseHeaderFaults(headers: HeaderList, opts: HeaderFaultOptions): HeaderFaultResult {
  if (!opts.enabled) return { ok: true, fault: {} };
  const fault: { delayMs?: number; abortStatus?: number } = {};
  const delays = getHeaderAll(headers, (opts.delayHeader ?? "x-meshlet-fault-delay").toLowerCase());
  if (delays.length > 0) {
    const m = delays.length === 1 ? DELAY_RE.exec(delays[0]!) : null;
    const ms = m === null ? NaN : Number(m[1]) * (m[2] === "s" ? 1000 : 1);
    if (!(ms <= (opts.maxDelayMs ?? 60_000))) {
      return { ok: false, code: "BAD_FAULT_DELAY", message: `bad fault delay ${JSON.stringify(delays.join(","))}` };
    }
    fault.delayMs = ms;
  }
  const aborts = getHeaderAll(headers, (opts.abortHeader ?? "x-meshlet-fault-abort").toLowerCase());
  if (aborts.length > 0) {
    const v = aborts.length === 1 && ABORT_RE.test(aborts[0]!) ? Number(aborts[0]) : NaN;
    if (!(v >= 200 && v <= 599)) {
      return { ok: false, code: "BAD_FAULT_ABORT", message: `bad fault abort ${JSON.stringify(aborts.join(","))}` };
    }
    fault.abortStatus = v;
  }
  return { ok: true, fault };
}

/**
 * The fault for one request: header-triggered faults (when enabled) take the place of the route's decision of the
 * same kind; the route decision is still drawn so the random sequence does not depend on headers.
 */
export function decideFault(
  injector: FaultInjector | undefined,
  random: () => number,
  headers: HeaderList,
  opts: HeaderFaultOptions = HEADER_FAULTS_OFF,
): HeaderFaultResult {
  const routed = injector === undefined ? {} : injector.decide(random);
  const fromHeaders = parseHeaderFaults(headers, opts);
  if (!fromHeaders.ok) return fromHeaders;
  const delayMs = fromHeaders.fault.delayMs ?? routed.delayMs;
  const abortStatus = fromHeaders.fault.abortStatus ?? routed.abortStatus;
  const fault: { delayMs?: number; abortStatus?: number } = {};
  if (delayMs !== undefined) fault.delayMs = delayMs;
  if (abortStatus !== undefined) fault.abortStatus = abortStatus;
  return { ok: true, fault };
}
