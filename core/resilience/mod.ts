// Resilience mechanisms: pure objects, time and randomness passed in.
export { FullJitterBackoff, DEFAULT_BACKOFF, type BackoffOptions, type Random } from "./backoff.ts";
export { RetryBudget, DEFAULT_RETRY_BUDGET, type RetryBudgetOptions } from "./retry-budget.ts";
export {
  RetryPolicy,
  DEFAULT_RETRY_POLICY,
  IDEMPOTENT_METHODS,
  outcomeOfError,
  type RetryCondition,
  type RetryPolicyOptions,
  type RetryRequest,
  type TryOutcome,
} from "./retry-policy.ts";
export {
  FailureAccrual,
  DEFAULT_FAILURE_ACCRUAL,
  probationBackoff,
  type BreakerState,
  type FailureAccrualOptions,
} from "./failure-accrual.ts";
export {
  TokenBucket,
  KeyedRateLimiter,
  retryAfterSeconds,
  type TakeResult,
  type TokenBucketOptions,
  type KeyedRateLimiterOptions,
} from "./rate-limit.ts";
export { LoadShed } from "./load-shed.ts";
