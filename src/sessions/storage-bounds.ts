import { DPOP_IAT_WINDOW_SECONDS } from "../tokens/dpop";

/**
 * What keeps a user's Durable Object from growing with what one client does, as pure functions
 * of the object's state and `now` (Unix ms): how many ended sessions it keeps, how often a
 * session records a failed DPoP check, and how long it remembers a proof. The object applies
 * the answers.
 */

/** An ended (revoked or expired) session, as the cap on kept ended sessions sees it. */
export interface EndedSession {
  id: string;
  endedAt: number;
  createdAt: number;
}

/**
 * The ended sessions to delete so that at most `kept` remain (`MAX_SESSIONS_PER_USER`): the
 * oldest ended go first; among sessions ended at the same moment, the older one. Without this, a
 * script logging in in a loop would leave one ended row per login until `SESSION_RETENTION_SECONDS`
 * passed. A dropped session's tokens then meet refresh rule 1 (unknown) instead of rule 2
 * (revoked): 400 `invalid_grant` either way.
 *
 * @example
 * endedSessionsToDrop([{ id: "a", endedAt: 1, createdAt: 0 }, { id: "b", endedAt: 2, createdAt: 0 }], 1);
 * // ["a"]
 */
export function endedSessionsToDrop(ended: EndedSession[], kept: number): string[] {
  if (ended.length <= kept) return [];
  const newestFirst = [...ended].sort((a, b) => b.endedAt - a.endedAt || b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  return newestFirst.slice(Math.max(0, kept)).map((session) => session.id);
}

/** A session records `dpop_proof_failed` at most once in this long. */
export const DPOP_FAILURE_EVENT_INTERVAL_MS = 60_000;

/** A session's failed DPoP checks since its last `dpop_proof_failed` event. */
export interface DpopFailureTally {
  /** When the last event was recorded, or null when none was. */
  lastEventAt: number | null;
  /** Failures after that event that recorded none. */
  unrecorded: number;
}

/**
 * One more failed DPoP check of a session at `now` (a refresh of a bound session without a proof
 * of its key): an event is due when the last one is at least a minute old, with `count`, the
 * failures since the last event including this one; otherwise the failure is only counted. So a
 * holder of a stolen bound token, refused every time, writes at most one audit row a minute, and
 * the next event still says how many attempts there were. A clock that went back (a last event
 * "in the future") records at once rather than staying silent until it catches up.
 *
 * @example
 * tallyDpopFailure({ lastEventAt: null, unrecorded: 0 }, now);
 * // { event: { count: 1 }, tally: { lastEventAt: now, unrecorded: 0 } }
 */
export function tallyDpopFailure(tally: DpopFailureTally, now: number): { event: { count: number } | null; tally: DpopFailureTally } {
  const due = tally.lastEventAt === null || now - tally.lastEventAt >= DPOP_FAILURE_EVENT_INTERVAL_MS || now < tally.lastEventAt;
  if (!due) return { event: null, tally: { lastEventAt: tally.lastEventAt, unrecorded: tally.unrecorded + 1 } };
  return { event: { count: tally.unrecorded + 1 }, tally: { lastEventAt: now, unrecorded: 0 } };
}

/**
 * Until when a session remembers a DPoP proof's `jti` (RFC 9449 section 11.1): as long as the
 * proof's `iat` could still pass the window (`CLOCK_SKEW_SECONDS` plus 60 s), so the same proof
 * cannot be replayed to it, and not a moment longer, so the memory holds only the last minute or
 * so of refreshes. An `iat` ahead of the clock counts from the `iat`.
 *
 * @example
 * proofRememberedUntil({ iat: now / 1000 }, now, 30); // now + 90_000
 */
export function proofRememberedUntil(proof: { iat: number }, now: number, clockSkewSeconds: number): number {
  return Math.max(now, proof.iat * 1000) + (clockSkewSeconds + DPOP_IAT_WINDOW_SECONDS) * 1000;
}
