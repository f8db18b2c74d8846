import type { SessionSettings } from "../config";

/**
 * The refresh rules (docs/api.md, "Refresh rules") as pure functions: no I/O, no clock. Times
 * are Unix milliseconds and `now` is always a parameter, so the Durable Object and the tests ask
 * the same questions and get the same answers.
 */

/** What the rules need to know about a session. */
export interface SessionState {
  generation: number;
  /** The most recent generations' issue times, the current generation's last. */
  issueTimes: number[];
  createdAt: number;
  lastUsedAt: number;
  revokedAt: number | null;
  /** The thumbprint of the DPoP key the session is bound to, or null. */
  jkt: string | null;
}

/** A presented refresh token, after the Durable Object checked its MAC. */
export interface PresentedToken {
  generation: number;
  /** Whether its MAC is right under the session's key (false also when the session is unknown). */
  authentic: boolean;
  /** The valid DPoP proof that came with it, if any: its key's thumbprint, and whether the session saw its `jti` already. */
  proof: { jkt: string; jtiSeen: boolean } | null;
}

export type ExpiryReason = "idle_timeout" | "max_lifetime";

/** Why a refresh was refused without revoking anything. */
export type RefusalReason = "unknown_token" | "revoked" | "dpop_replay" | "dpop_key_mismatch";

/** Why a refresh was refused, whatever the rule: for the worker's log only, the client sees one `invalid_grant`. */
export type RefreshRefusal = RefusalReason | ExpiryReason | "reuse";

/**
 * The outcome of the rules for one presented token; the Durable Object applies its effects, and
 * `rule` and `reason` pass through to the worker unchanged.
 * `rememberProof`: whether the object stores the proof's `jti` so it cannot be replayed to this
 * session. Only a proof by the key a session is bound to is remembered: a proof sent with an
 * unbound session's token binds nothing and changes nothing, so its `jti` does not matter.
 */
export type RefreshDecision =
  /** Rule 1: refused, nothing changes. */
  | { rule: 1; kind: "refuse"; reason: "unknown_token"; rememberProof: false }
  /** The DPoP check, a replayed proof: refused, nothing changes (the token still works with a fresh proof). */
  | { rule: "dpop"; kind: "refuse"; reason: "dpop_replay"; rememberProof: false }
  /**
   * The DPoP check, a bound session refreshed without a proof of its key: refused, nothing
   * rotated or revoked (the real client still holds the key), and the failure is counted.
   */
  | { rule: "dpop"; kind: "dpop_failure"; reason: "dpop_key_mismatch"; failure: "no_proof" | "another_key"; rememberProof: false }
  /** The revoked half of rule 2: refused, nothing changes. */
  | { rule: 2; kind: "refuse"; reason: "revoked"; rememberProof: boolean }
  /** Rule 2: the session ran past a limit; it is marked expired, then refused. */
  | { rule: 2; kind: "expire"; reason: ExpiryReason; rememberProof: boolean }
  /** Rule 3: the current token; rotate. */
  | { rule: 3; kind: "rotate"; rememberProof: boolean }
  /** Rule 4: the token rotated just before the current one, within the grace window: hand out the current one again. */
  | { rule: 4; kind: "grace_replay"; rememberProof: boolean }
  /** Rule 5: a used token came back: revoke per `REUSE_REVOKES`, then refuse. */
  | {
      rule: 5;
      kind: "reuse";
      reason: "reuse";
      scope: SessionSettings["reuseRevokes"];
      generationsBehind: number;
      successorIssuedAt: number | null;
      rememberProof: boolean;
    };

/**
 * Decides what a refresh with `token` does to `session` (null: no such session) at `now`,
 * applying the five refresh rules in order, with the DPoP check between rules 1 and 2: for a
 * bound session, a proof whose `jti` the session saw, or a refresh without a proof by its key, is
 * refused before any rule can rotate or revoke, so a thief without the key can do neither. The
 * first check that matches decides.
 *
 * A refresh never binds a session: only the request that opens one does. If it did, a thief
 * holding a copied token of an unbound session would rotate first with a proof of its own key,
 * and the real client, without that key, would be refused by the DPoP check before rule 5 could
 * ever see its used token: no reuse detection, and the thief keeps the session. So the proof that
 * comes with an unbound session's token is ignored and its tokens stay Bearer tokens.
 *
 * @example
 * decideRefresh(session, { generation: 3, authentic: true, proof: null }, settings, Date.now());
 * // { rule: 3, kind: "rotate", rememberProof: false } when 3 is the session's current generation
 */
export function decideRefresh(session: SessionState | null, token: PresentedToken, settings: SessionSettings, now: number): RefreshDecision {
  // Rule 1: unknown, malformed or forged.
  if (session === null || !token.authentic || !wasIssued(session, token.generation)) {
    return { rule: 1, kind: "refuse", reason: "unknown_token", rememberProof: false };
  }
  // DPoP (RFC 9449), for a bound session only: a replayed proof, then a refresh without its key's proof.
  if (session.jkt !== null) {
    if (token.proof?.jtiSeen) return { rule: "dpop", kind: "refuse", reason: "dpop_replay", rememberProof: false };
    if (token.proof?.jkt !== session.jkt) {
      const failure = token.proof === null ? "no_proof" : "another_key";
      return { rule: "dpop", kind: "dpop_failure", reason: "dpop_key_mismatch", failure, rememberProof: false };
    }
  }
  // From here on a bound session's proof is its key's and fresh: spent, whatever the rules decide.
  const rememberProof = session.jkt !== null && token.proof !== null;
  // Rule 2: revoked or expired.
  if (session.revokedAt !== null) return { rule: 2, kind: "refuse", reason: "revoked", rememberProof };
  const expired = expiredReason(session, settings, now);
  if (expired) return { rule: 2, kind: "expire", reason: expired, rememberProof };
  // Rule 3: the current token.
  if (token.generation === session.generation) return { rule: 3, kind: "rotate", rememberProof };
  // Rule 4: the token rotated just before the current one, within the grace window. The current
  // one is unused by construction: using it would have rotated it.
  if (
    settings.refreshReuseGraceSeconds > 0 &&
    token.generation === session.generation - 1 &&
    now - session.issueTimes.at(-1)! <= settings.refreshReuseGraceSeconds * 1000
  ) {
    return { rule: 4, kind: "grace_replay", rememberProof };
  }
  // Rule 5: any other used token is a stolen copy coming back.
  return {
    rule: 5,
    kind: "reuse",
    reason: "reuse",
    scope: settings.reuseRevokes,
    generationsBehind: session.generation - token.generation,
    successorIssuedAt: rotatedAt(session.issueTimes, session.generation, token.generation),
    rememberProof,
  };
}

/**
 * Whether a token of `generation` (with a valid MAC) was ever handed out: a generation above the
 * current one never was, so it is treated as forged rather than trusted.
 */
export function wasIssued(session: Pick<SessionState, "generation">, generation: number): boolean {
  return generation <= session.generation;
}

/** When the session stops being refreshable, and why; null when both limits are 0 (no limit). */
export function sessionExpiry(
  session: Pick<SessionState, "createdAt" | "lastUsedAt">,
  settings: Pick<SessionSettings, "refreshIdleTtlSeconds" | "sessionMaxTtlSeconds">,
): { at: number; reason: ExpiryReason } | null {
  const idle = settings.refreshIdleTtlSeconds > 0 ? session.lastUsedAt + settings.refreshIdleTtlSeconds * 1000 : Infinity;
  const max = settings.sessionMaxTtlSeconds > 0 ? session.createdAt + settings.sessionMaxTtlSeconds * 1000 : Infinity;
  if (idle === Infinity && max === Infinity) return null;
  return idle < max ? { at: idle, reason: "idle_timeout" } : { at: max, reason: "max_lifetime" };
}

/** Why the session is past its limits at `now`, or null while it may still be refreshed. */
export function expiredReason(
  session: Pick<SessionState, "createdAt" | "lastUsedAt">,
  settings: Pick<SessionSettings, "refreshIdleTtlSeconds" | "sessionMaxTtlSeconds">,
  now: number,
): ExpiryReason | null {
  const expiry = sessionExpiry(session, settings);
  return expiry !== null && now >= expiry.at ? expiry.reason : null;
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
