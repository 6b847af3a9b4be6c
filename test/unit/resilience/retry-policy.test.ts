import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_RETRY_POLICY,
  RetryPolicy,
  outcomeOfError,
  type RetryCondition,
  type TryOutcome,
} from "../../../core/resilience/retry-policy.ts";

const resp = (status: number): TryOutcome => ({ kind: "response", status });
const CONNECT: TryOutcome = { kind: "connect-failure" };
const RESET: TryOutcome = { kind: "reset" };
const TIMEOUT: TryOutcome = { kind: "timeout" };
const OTHER: TryOutcome = { kind: "error" };

describe("RetryPolicy", () => {
  it("defaults: idempotent methods, 5xx + connect-failure + reset, 1 retry, 64 KiB bodies", () => {
    const p = new RetryPolicy();
    assert.deepEqual([...p.options.methods], ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
    assert.equal(p.options.maxRetries, 1);
    assert.equal(p.options.maxBufferedBody, 65_536);
    assert.deepEqual([...DEFAULT_RETRY_POLICY.conditions], ["5xx", "connect-failure", "reset"]);
  });

  // condition -> outcomes retried (R) or not (-), in the order of OUTCOMES
  const OUTCOMES: [string, TryOutcome][] = [
    ["200", resp(200)], ["404", resp(404)], ["429", resp(429)], ["500", resp(500)], ["501", resp(501)],
    ["502", resp(502)], ["503", resp(503)], ["504", resp(504)], ["599", resp(599)],
    ["connect", CONNECT], ["reset", RESET], ["timeout", TIMEOUT], ["other", OTHER],
  ];
  const TABLE: [RetryCondition[], number[], string][] = [
    //                                    200 404 429 500 501 502 503 504 599 con rst tmo oth
    [["5xx"], [],                         "-   -   -   R   R   R   R   R   R   R   R   R   -"],
    [["gateway-error"], [],               "-   -   -   -   -   R   R   R   -   R   R   R   -"],
    [["connect-failure"], [],             "-   -   -   -   -   -   -   -   -   R   -   -   -"],
    [["reset"], [],                       "-   -   -   -   -   -   -   -   -   -   R   -   -"],
    [[], [429, 404],                      "-   R   R   -   -   -   -   -   -   -   -   -   -"],
    [["connect-failure", "reset"], [503], "-   -   -   -   -   -   R   -   -   R   R   -   -"],
    [[], [],                              "-   -   -   -   -   -   -   -   -   -   -   -   -"],
  ];
  for (const [conditions, statusCodes, row] of TABLE) {
    it(`classifies outcomes for conditions [${conditions}] codes [${statusCodes}]`, () => {
      const p = new RetryPolicy({ conditions, statusCodes });
      const want = row.split(/\s+/);
      OUTCOMES.forEach(([name, o], i) => assert.equal(p.isRetryableOutcome(o), want[i] === "R", `${name}`));
    });
  }

  it("method × outcome: only idempotent methods by default, configurable, case-insensitive", () => {
    const def = new RetryPolicy({ maxRetries: 3 });
    const post = new RetryPolicy({ maxRetries: 3, methods: ["GET", "POST"] });
    const cases: [string, TryOutcome, boolean, boolean][] = [
      // method, outcome, default policy, GET+POST policy
      ["GET", resp(503), true, true],
      ["get", resp(503), true, true],
      ["HEAD", resp(500), true, false],
      ["OPTIONS", RESET, true, false],
      ["PUT", CONNECT, true, false],
      ["DELETE", resp(502), true, false],
      ["TRACE", resp(504), true, false],
      ["POST", resp(503), false, true],
      ["PATCH", resp(503), false, false],
      ["CONNECT", CONNECT, false, false],
      ["GET", resp(404), false, false],
      ["POST", resp(200), false, false],
    ];
    for (const [method, o, d, g] of cases) {
      const req = { method, bodyBytes: 0 };
      assert.equal(def.shouldRetry(req, o, 0), d, `default ${method} ${JSON.stringify(o)}`);
      assert.equal(post.shouldRetry(req, o, 0), g, `GET+POST ${method} ${JSON.stringify(o)}`);
    }
  });

  it("stops at maxRetries", () => {
    const p = new RetryPolicy({ maxRetries: 2 });
    const req = { method: "GET", bodyBytes: 0 };
    assert.deepEqual([0, 1, 2, 3].map((n) => p.shouldRetry(req, resp(503), n)), [true, true, false, false]);
    assert.equal(new RetryPolicy({ maxRetries: 0 }).shouldRetry(req, resp(503), 0), false);
  });

  it("retries only bodies that fit the buffer (64 KiB by default); unknown length is not retried", () => {
    const p = new RetryPolicy();
    assert.equal(p.bodyFits(0), true);
    assert.equal(p.bodyFits(65_536), true);
    assert.equal(p.bodyFits(65_537), false);
    assert.equal(p.bodyFits(undefined), false);
    assert.equal(p.shouldRetry({ method: "PUT", bodyBytes: 65_537 }, resp(503), 0), false);
    assert.equal(p.shouldRetry({ method: "PUT", bodyBytes: 1_000 }, resp(503), 0), true);
    assert.equal(new RetryPolicy({ maxBufferedBody: 10 }).bodyFits(11), false);
  });

  it("maps error codes to outcomes", () => {
    assert.deepEqual(outcomeOfError("CONNECT_REFUSED"), CONNECT);
    assert.deepEqual(outcomeOfError("CONNECT_TIMEOUT"), CONNECT);
    assert.deepEqual(outcomeOfError("UPSTREAM_RESET"), RESET);
    assert.deepEqual(outcomeOfError("RESPONSE_TIMEOUT"), TIMEOUT);
    assert.deepEqual(outcomeOfError("UPSTREAM_MALFORMED"), OTHER);
  });
});
