/**
 * What keeps a user's Durable Object from growing with what one client does, as pure functions
 * of the object's state and `now` (Unix ms): how often a session records a failed DPoP check.
 * The object applies the answers.
 */

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
