// Building blocks of the config-file schema: strict objects that report every unknown key (with a suggestion),
// schemas from value parsers, tagged unions that report a bad tag at its own path, bounded numbers and durations.

import * as v from "valibot";
import { describe, parseDuration, type ValueResult } from "./values.ts";

export type Obj = Record<string, unknown>;
export const isObj = (x: unknown): x is Obj => typeof x === "object" && x !== null && !Array.isArray(x);

/** A schema from a value parser: the parser's message becomes the issue message. */
export function fromParser<T>(parse: (input: unknown) => ValueResult<T>): v.GenericSchema<unknown, T> {
  return v.pipe(
    v.unknown(),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const r = parse(dataset.value);
      if (!r.ok) {
        addIssue({ message: r.message });
        return NEVER;
      }
      return r.value;
    }),
  );
}

/** A schema that always fails with "expected <what>, received <input>". */
export function never(what: string): v.GenericSchema<unknown, never> {
  return fromParser<never>((input) => ({ ok: false, message: `expected ${what}, received ${describe(input)}` }));
}

/** A path item for key `key` of the object `input`, to put an issue at a field of the value being checked. */
export function keyPath(input: Obj, key: string): [v.IssuePathItem] {
  return [{ type: "object", origin: "value", input, key, value: input[key] }];
}

/**
 * An object type whose optional keys, when present, hold a value: an absent optional key is left out of the
 * output, never set to undefined (so the output fits types checked with exactOptionalPropertyTypes).
 */
export type Present<T> = { [K in keyof T as {} extends Pick<T, K> ? never : K]: T[K] } & {
  [K in keyof T as {} extends Pick<T, K> ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * A strict object: like v.strictObject, but reports every unknown key (not only the first), suggests the key
 * that was probably meant, rejects lists, and says which required key is missing.
 */
export function strict<const E extends v.ObjectEntries>(entries: E, what: string) {
  const known = Object.keys(entries);
  const loose: v.GenericSchema<unknown, Record<string, unknown>> = v.looseObject(entries, (issue) =>
    issue.path && issue.input === undefined
      ? `missing required key ${issue.expected}`
      : `expected ${what} (a mapping), received ${describe(issue.input)}`,
  );
  const object = v.pipe(
    loose,
    v.rawCheck<Record<string, unknown>>(({ dataset, addIssue }) => {
      const value: unknown = dataset.value;
      if (!isObj(value)) return;
      for (const key of Object.keys(value)) {
        if (known.includes(key)) continue;
        addIssue({
          message: unknownKeyMessage(key, known),
          path: [{ type: "object", origin: "key", input: value, key, value: value[key] }],
        });
      }
    }),
    v.transform((value) => {
      const out: Record<string, unknown> = {};
      for (const key of known) if (key in value) out[key] = value[key];
      return out as Present<v.InferOutput<v.ObjectSchema<E, undefined>>>;
    }),
  );
  return v.lazy((input) => (Array.isArray(input) ? never(`${what} (a mapping)`) : object));
}

export function unknownKeyMessage(key: string, known: string[]): string {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const guess =
    known.find((k) => norm(k) === norm(key)) ??
    known.find((k) => norm(k) === `${norm(key)}s` || `${norm(k)}s` === norm(key)) ??
    known.find((k) => editDistance(norm(k), norm(key)) <= 2) ??
    // A shortened or lengthened key: "minRetriesPerSec" for "minRetriesPerSecond", "status" for "httpStatus".
    known.find((k) => Math.min(k.length, key.length) >= 4 && (norm(k).includes(norm(key)) || norm(key).includes(norm(k))));
  const hint = guess ? `; did you mean "${guess}"?` : "";
  return `unknown key "${key}" (expected one of: ${known.join(", ")})${hint}`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** `"a", "b" or "c"`. */
export function oneOf(names: readonly (string | number)[]): string {
  const q = names.map((n) => (typeof n === "string" ? `"${n}"` : String(n)));
  return q.length <= 1 ? q.join("") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`;
}

/**
 * A mapping whose `tag` key picks the schema of the rest ({type: Exact, ...}, {kind: hash, ...}). A missing or
 * unknown tag is one issue at the tag's path; `unsupported` gives tags that are known elsewhere (e.g. Gateway API
 * filters meshlet does not implement) a clearer message. `defaultTag` picks a variant when the tag is absent.
 */
export function tagged<T>(
  tag: string,
  variants: Record<string, v.GenericSchema<unknown, T>>,
  what: string,
  opts: { defaultTag?: string; unsupported?: readonly string[] } = {},
): v.GenericSchema<unknown, T> {
  const names = Object.keys(variants);
  const bad = v.pipe(
    v.unknown(),
    v.rawCheck(({ dataset, addIssue }) => {
      const input = dataset.value as Obj;
      const t = input[tag];
      const message =
        t === undefined
          ? `missing required key "${tag}" (${oneOf(names)})`
          : typeof t === "string" && opts.unsupported?.includes(t)
            ? `${tag} "${t}" is not supported by meshlet (supported: ${oneOf(names)})`
            : `expected ${oneOf(names)}, received ${describe(t)}`;
      addIssue({ message, path: keyPath(input, tag) });
    }),
  ) as unknown as v.GenericSchema<unknown, T>;
  return v.lazy((input) => {
    if (!isObj(input)) return never(`${what} (a mapping)`);
    const t = input[tag] ?? opts.defaultTag;
    return typeof t === "string" && Object.hasOwn(variants, t) ? variants[t]! : bad;
  });
}

export function list<T>(item: v.GenericSchema<unknown, T>, what: string) {
  return v.array(item, (issue) => `expected a list of ${what}, received ${describe(issue.input)}`);
}

/** A list with at least one item. */
export function nonEmptyList<T>(item: v.GenericSchema<unknown, T>, what: string) {
  return v.pipe(
    list(item, what),
    v.check((items) => items.length > 0, `expected a list of ${what} with at least one item, received an empty list`),
  );
}

export function int(min: number, max: number, what: string): v.GenericSchema<unknown, number> {
  return fromParser((input) =>
    typeof input === "number" && Number.isInteger(input) && input >= min && input <= max
      ? { ok: true, value: input }
      : { ok: false, message: `expected ${what} (an integer ${fmtNum(min)}..${fmtNum(max)}), received ${describe(input)}` },
  );
}

/** A finite number in [min, max] (fractions allowed); `exclusiveMin` makes the lower bound open. */
export function num(min: number, max: number, what: string, exclusiveMin = false): v.GenericSchema<unknown, number> {
  const range = exclusiveMin ? `greater than ${fmtNum(min)}, at most ${fmtNum(max)}` : `${fmtNum(min)}..${fmtNum(max)}`;
  return fromParser((input) =>
    typeof input === "number" && Number.isFinite(input) && (exclusiveMin ? input > min : input >= min) && input <= max
      ? { ok: true, value: input }
      : { ok: false, message: `expected ${what} (a number ${range}), received ${describe(input)}` },
  );
}

const fmtNum = (n: number): string => String(n);

/** One of a fixed set of strings (or numbers). */
export function picklist<const T extends string | number>(options: readonly T[]): v.GenericSchema<unknown, T> {
  return fromParser((input) =>
    (options as readonly unknown[]).includes(input)
      ? { ok: true, value: input as T }
      : { ok: false, message: `expected ${oneOf(options)}, received ${describe(input)}` },
  );
}

export const Bool = v.boolean((issue) => `expected true or false, received ${describe(issue.input)}`);

/** A duration in ms, at least `minMs`; with `max`, at most max.ms (labelled max.label in messages). */
export function duration(minMs = 0, max?: { ms: number; label: string }): v.GenericSchema<unknown, number> {
  return fromParser((input) => {
    const r = parseDuration(input, minMs);
    if (r.ok && max !== undefined && r.value > max.ms) {
      return { ok: false, message: `expected a duration of at most ${max.label}, received ${describe(input)}` };
    }
    return r;
  });
}

/** A duration in messages: "250ms", "10s". */
export function fmtMs(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
