// The schema of per-service traffic policy (balancer, failure accrual, retry budget, max pending) and of the
// top-level timeoutHeader / headerFaults sections. Outputs are normalized (ms, config types).

import * as v from "valibot";
import { DEFAULTS } from "./defaults.ts";
import { Bool, duration, fmtMs, fromParser, int, isObj, keyPath, never, num, oneOf, strict, tagged, type Obj } from "./kit.ts";
import type { BalancerConfig, FailureAccrualConfig, HashOn, MeshletConfig, RetryBudgetConfig } from "./types.ts";
import { describe, parseCookieName, parseHeaderName } from "./values.ts";

// ---- balancer ------------------------------------------------------------------------------------------

const SIMPLE_KINDS = ["round-robin", "weighted-round-robin", "least-request"] as const;
const BALANCER_KINDS = ["peak-ewma", ...SIMPLE_KINDS, "hash"] as const;
const HASH_ON_KEYS = ["header", "cookie", "clientAddress"] as const;

const PeakEwma = v.pipe(
  strict(
    {
      kind: v.literal("peak-ewma"),
      defaultRtt: v.optional(duration(1), DEFAULTS.peakEwma.defaultRtt),
      decay: v.optional(duration(1), DEFAULTS.peakEwma.decay),
    },
    "a balancer",
  ),
  v.transform((b): BalancerConfig => ({ kind: "peak-ewma", defaultRttMs: b.defaultRtt, decayMs: b.decay })),
);

const HashOnSchema: v.GenericSchema<unknown, HashOn> = v.pipe(
  strict(
    {
      header: v.optional(fromParser((input) => parseHeaderName(input, true))),
      cookie: v.optional(fromParser(parseCookieName)),
      clientAddress: v.optional(
        fromParser((input) =>
          input === true ? { ok: true, value: true as const } : { ok: false, message: `expected true, received ${describe(input)}` },
        ),
      ),
    },
    "what to hash",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    const value: unknown = dataset.value;
    if (!isObj(value)) return;
    const given = HASH_ON_KEYS.filter((k) => k in value);
    if (given.length !== 1) {
      addIssue({
        message: `expected exactly one of header, cookie or clientAddress, received ${given.length === 0 ? "none" : given.join(" and ")}`,
      });
    }
  }),
  v.transform((h): HashOn => {
    if (h.header !== undefined) return { header: h.header };
    if (h.cookie !== undefined) return { cookie: h.cookie };
    return { clientAddress: true };
  }),
);

const Hash = v.pipe(
  strict({ kind: v.literal("hash"), hashOn: HashOnSchema }, "a balancer"),
  v.transform((b): BalancerConfig => ({ kind: "hash", hashOn: b.hashOn })),
);

const simple = (kind: (typeof SIMPLE_KINDS)[number]) =>
  v.pipe(
    strict({ kind: v.literal(kind) }, "a balancer"),
    v.transform((): BalancerConfig => ({ kind })),
  );

const BalancerObject = tagged<BalancerConfig>(
  "kind",
  {
    "peak-ewma": PeakEwma,
    "round-robin": simple("round-robin"),
    "weighted-round-robin": simple("weighted-round-robin"),
    "least-request": simple("least-request"),
    hash: Hash,
  },
  "a balancer",
);

/** "peak-ewma" (with Linkerd's constants) or one of the parameterless kinds; "hash" needs the mapping form. */
function balancerShorthand(input: string): v.GenericSchema<unknown, BalancerConfig> {
  if (input === "peak-ewma") return v.pipe(v.unknown(), v.transform(() => v.parse(PeakEwma, { kind: "peak-ewma" })));
  if ((SIMPLE_KINDS as readonly string[]).includes(input)) {
    const kind = input as (typeof SIMPLE_KINDS)[number];
    return v.pipe(v.unknown(), v.transform((): BalancerConfig => ({ kind })));
  }
  if (input === "hash") {
    return never(
      'a hash balancer as a mapping: {kind: hash, hashOn: {header: NAME}}, {kind: hash, hashOn: {cookie: NAME}} or {kind: hash, hashOn: {clientAddress: true}}',
    );
  }
  return never(`${oneOf(BALANCER_KINDS)} (or a mapping {kind, ...})`);
}

/** services[].balancer: a kind, or {kind, ...options}. */
export const Balancer: v.GenericSchema<unknown, BalancerConfig> = v.lazy((input) => {
  if (typeof input === "string") return balancerShorthand(input);
  if (isObj(input)) return BalancerObject;
  return never(`a balancer: ${oneOf(BALANCER_KINDS)} or a mapping {kind, ...}`);
});

// ---- failure accrual, retry budget ---------------------------------------------------------------------

/** An issue at `obj[lowKey]` when both are numbers and obj[lowKey] > obj[highKey] (durations, in ms). */
function orderedDurations<T>(lowKey: string, highKey: string, what: string) {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    const value: unknown = dataset.value;
    if (!isObj(value)) return;
    const low = value[lowKey];
    const high = value[highKey];
    if (typeof low === "number" && typeof high === "number" && low > high) {
      addIssue({
        message: `${what}: ${lowKey} (${fmtMs(low)}) must not exceed ${highKey} (${fmtMs(high)})`,
        path: keyPath(value as Obj, lowKey),
      });
    }
  });
}

const FailureAccrualObject = v.pipe(
  strict(
    {
      consecutiveFailures: v.optional(int(1, 1_000_000, "a failure count"), DEFAULTS.failureAccrual.consecutiveFailures),
      minBackoff: v.optional(duration(1), DEFAULTS.failureAccrual.minBackoff),
      maxBackoff: v.optional(duration(1), DEFAULTS.failureAccrual.maxBackoff),
      jitter: v.optional(num(0, 100, "a jitter fraction"), DEFAULTS.failureAccrual.jitter),
    },
    "the failure accrual settings",
  ),
  orderedDurations("minBackoff", "maxBackoff", "failure accrual backoff"),
  v.transform(
    (f): FailureAccrualConfig => ({
      consecutiveFailures: f.consecutiveFailures,
      minBackoffMs: f.minBackoff,
      maxBackoffMs: f.maxBackoff,
      jitter: f.jitter,
    }),
  ),
);

/** services[].failureAccrual: a mapping, true (the defaults) or false (off: null). */
export const FailureAccrual: v.GenericSchema<unknown, FailureAccrualConfig | null> = v.lazy((input) => {
  if (input === false) return v.pipe(v.unknown(), v.transform(() => null));
  if (input === true) return v.pipe(v.unknown(), v.transform(() => v.parse(FailureAccrualObject, {})));
  if (isObj(input)) return FailureAccrualObject;
  return never("the failure accrual settings (a mapping), or false to turn it off");
});

export const RetryBudget: v.GenericSchema<unknown, RetryBudgetConfig> = v.pipe(
  strict(
    {
      retryRatio: v.optional(num(0, 1000, "a ratio of retries to requests"), DEFAULTS.retryBudget.retryRatio),
      minRetriesPerSecond: v.optional(num(0, 1_000_000, "a rate"), DEFAULTS.retryBudget.minRetriesPerSecond),
      ttl: v.optional(duration(1000, { ms: 3_600_000, label: "1h" }), DEFAULTS.retryBudget.ttl),
    },
    "the retry budget",
  ),
  v.transform((b): RetryBudgetConfig => ({ retryRatio: b.retryRatio, minRetriesPerSec: b.minRetriesPerSecond, ttlMs: b.ttl })),
);

export const MaxPending = int(1, 10_000_000, "a request count");

// ---- timeoutHeader, headerFaults -----------------------------------------------------------------------

const LowerHeaderName = fromParser((input) => parseHeaderName(input, true));

export const TimeoutHeader: v.GenericSchema<unknown, MeshletConfig["timeoutHeader"]> = strict(
  {
    name: v.optional(LowerHeaderName, DEFAULTS.timeoutHeader.name),
    outbound: v.optional(Bool, DEFAULTS.timeoutHeader.outbound),
    inbound: v.optional(Bool, DEFAULTS.timeoutHeader.inbound),
  },
  "the timeout header settings",
);

export const ClientTimeouts = v.pipe(
  strict(
    {
      header: v.optional(duration(0), DEFAULTS.clientTimeouts.header),
      idle: v.optional(duration(0), DEFAULTS.clientTimeouts.idle),
    },
    "the client connection timeouts",
  ),
  v.transform((t): MeshletConfig["clientTimeouts"] => ({ headerMs: t.header, idleMs: t.idle })),
);

export const HeaderFaults: v.GenericSchema<unknown, MeshletConfig["headerFaults"]> = v.pipe(
  strict(
    {
      enabled: v.optional(Bool, DEFAULTS.headerFaults.enabled),
      delayHeader: v.optional(LowerHeaderName, DEFAULTS.headerFaults.delayHeader),
      abortHeader: v.optional(LowerHeaderName, DEFAULTS.headerFaults.abortHeader),
      maxDelay: v.optional(duration(0), DEFAULTS.headerFaults.maxDelay),
    },
    "the header fault settings",
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    const value: unknown = dataset.value;
    if (isObj(value) && typeof value.abortHeader === "string" && value.abortHeader === value.delayHeader) {
      addIssue({ message: `abortHeader and delayHeader must differ (both "${value.abortHeader}")`, path: keyPath(value, "abortHeader") });
    }
  }),
  v.transform((h) => ({ enabled: h.enabled, delayHeader: h.delayHeader, abortHeader: h.abortHeader, maxDelayMs: h.maxDelay })),
);
