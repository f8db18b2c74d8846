import type { SessionPolicy } from "../config";

/**
 * Pure decisions about a session's lifetime: no I/O, no clock. Times are Unix milliseconds and
 * `now` is always a parameter, so the Durable Object and the tests ask the same questions.
 */
export interface SessionTimes {
  createdAt: number;
  lastUsedAt: number;
}

export type ExpiryReason = "idle_timeout" | "max_lifetime";

/** When the session stops being refreshable, and why; null when both limits are 0 (no limit). */
export function sessionExpiry(session: SessionTimes, policy: SessionPolicy): { at: number; reason: ExpiryReason } | null {
  const idle = policy.refreshIdleTtlSeconds > 0 ? session.lastUsedAt + policy.refreshIdleTtlSeconds * 1000 : Infinity;
  const max = policy.sessionMaxTtlSeconds > 0 ? session.createdAt + policy.sessionMaxTtlSeconds * 1000 : Infinity;
  if (idle === Infinity && max === Infinity) return null;
  return idle < max ? { at: idle, reason: "idle_timeout" } : { at: max, reason: "max_lifetime" };
}

/** Why the session is past its limits at `now`, or null while it may still be refreshed. */
export function expiredReason(session: SessionTimes, policy: SessionPolicy, now: number): ExpiryReason | null {
  const expiry = sessionExpiry(session, policy);
  return expiry !== null && now >= expiry.at ? expiry.reason : null;
}

/**
 * Refresh rule 4: the presented token is the one rotated just before the current one, that
 * rotation happened at most `refreshReuseGraceSeconds` ago, and grace is on. (The current token is
 * unused by construction: using it rotates it.)
 */
export function isGraceReplay(
  presentedGeneration: number,
  currentGeneration: number,
  currentIssuedAt: number,
  policy: SessionPolicy,
  now: number,
): boolean {
  return (
    policy.refreshReuseGraceSeconds > 0 &&
    presentedGeneration === currentGeneration - 1 &&
    now - currentIssuedAt <= policy.refreshReuseGraceSeconds * 1000
  );
}

/** How many issue times a session keeps, newest last: enough to date any realistic reuse. */
export const ISSUE_TIMES_KEPT = 64;

/**
 * When the token of `generation` was rotated, i.e. when its successor was issued, from the
 * session's most recent issue times (the last one is the current generation's). Null when that
 * rotation is older than the kept window.
 */
export function rotatedAt(issueTimes: number[], currentGeneration: number, generation: number): number | null {
  const index = issueTimes.length - 1 - (currentGeneration - (generation + 1));
  return index >= 0 && index < issueTimes.length ? issueTimes[index]! : null;
}

/** Appends the issue time of a new generation, keeping the list bounded. */
export function withIssueTime(issueTimes: number[], at: number): number[] {
  return [...issueTimes, at].slice(-ISSUE_TIMES_KEPT);
}
