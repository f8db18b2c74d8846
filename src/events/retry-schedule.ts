/** The first retry of a message comes within this many seconds. */
export const FIRST_RETRY_SECONDS = 30;
/** Retries are never further apart than an hour. */
export const MAX_RETRY_SECONDS = 3600;
/** How long a message in the dead-letter queue waits between two tries of its D1 write. */
export const DEAD_LETTER_RETRY_SECONDS = 3600;

/**
 * The delay before the next delivery of a message that failed on its `attempts`-th delivery
 * (1 for the first): 30 s, doubling each time, at most an hour, with jitter in the upper half
 * (`random` in [0, 1)) so that a burst that failed together (a receiver back up after an outage)
 * is not sent again all at once. A receiver's `Retry-After` is honoured up to the hour. Pure.
 */
export function retryDelaySeconds(attempts: number, random: number, retryAfterSeconds: number | null = null): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 20);
  const base = Math.min(FIRST_RETRY_SECONDS * 2 ** exponent, MAX_RETRY_SECONDS);
  const jittered = Math.ceil(base * (0.5 + random / 2));
  const asked = retryAfterSeconds === null ? 0 : Math.min(retryAfterSeconds, MAX_RETRY_SECONDS);
  return Math.max(1, jittered, asked);
}

/**
 * A `Retry-After` header in seconds (RFC 9110 section 10.2.3: delay-seconds or an HTTP date),
 * or null when absent or unreadable.
 */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d{1,9}$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}
