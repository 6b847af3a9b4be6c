// When to renew a certificate, from its validity period and the current wall-clock time (all in ms since the
// epoch; the caller passes Clock.wallNow(), certificate times being wall-clock times).

/** Renew once this share of the lifetime has passed, in percent (SPIRE's agent and Istio renew at about 2/3 to 80 %). */
export const RENEW_AT_PERCENT = 70;
/** The shortest delay: never renew in a tight loop, even for an expired or nearly expired certificate. */
export const MIN_RENEWAL_DELAY_MS = 10_000;
/** The longest delay: look again at least daily (long-lived certificates, clock jumps). */
export const MAX_RENEWAL_DELAY_MS = 24 * 60 * 60 * 1000;

/**
 * Milliseconds from `now` until the certificate should be renewed:
 *
 *   target = notBefore + 70 % of (notAfter - notBefore)
 *   delay  = clamp(target - now, 10 s, 24 h), rounded up to a whole ms
 *
 * So: already past the target (including an expired certificate) → 10 s; a target more than a day away → 24 h
 * (the caller re-computes then). A lifetime of zero or less puts the target at or before notBefore, so it
 * behaves like a past target unless notBefore itself is more than 10 s ahead. A NaN input → 10 s.
 */
export function renewalDelayMs(notBefore: number, notAfter: number, now: number): number {
  // Integer arithmetic (x * 70 / 100 is exact for whole ms), so 70 % of 24 h is 60480000, not 60479999.99...
  const delay = Math.ceil(notBefore + ((notAfter - notBefore) * RENEW_AT_PERCENT) / 100 - now);
  if (Number.isNaN(delay) || delay < MIN_RENEWAL_DELAY_MS) return MIN_RENEWAL_DELAY_MS;
  return Math.min(delay, MAX_RENEWAL_DELAY_MS);
}

/** True once `now` is past notAfter (the validity period includes notAfter itself, RFC 5280 §4.1.2.5). */
export function isExpired(notAfter: number, now: number): boolean {
  return now > notAfter;
}

/** True while `now` is before notBefore. */
export function isNotYetValid(notBefore: number, now: number): boolean {
  return now < notBefore;
}
