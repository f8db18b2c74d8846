import type { EventType } from "../wire";
import type { SessionClaims } from "../tokens/access";
import type { Amr } from "../tokens/authentication-claims";
import type { RefreshDecision, RefreshRefusal } from "./refresh-rules";

/**
 * What the worker and the UserAuth Durable Object hand each other over RPC. The worker imports
 * these types, never the object's module.
 */

/** Who is asking, for the session record and the audit trail. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/**
 * A session to open, as a way in describes it (`sessionOpening` in sign-in.ts): for whom, with
 * which custom claims, how and when the user proved who they are, and the event that records it.
 */
export interface SessionOpening {
  sub: string;
  claims: SessionClaims;
  amr: Amr[];
  /** When the user proved who they are (Unix ms): the `auth_time` of every access token of the session. */
  authTime: number;
  event: { type: Extract<EventType, "login" | "session_created">; detail: Record<string, unknown> | null };
}

/** What a login, an admin session or a refresh hands back to the worker, which signs the access token. */
export interface IssuedSession {
  sub: string;
  sessionId: string;
  refreshToken: string;
  claims: SessionClaims;
  /** The thumbprint of the DPoP key the session is bound to: its access tokens carry it as `cnf.jkt`. */
  jkt: string | null;
  /** How the user signed in; null for a session opened before it was stored. */
  amr: Amr[] | null;
  /** When the user proved who they are for this session (Unix ms). */
  authTime: number;
  /**
   * Set when this answer holds the session's claims hook call (at opening, and on a refresh whose
   * claims were due): the worker asks the hook before it signs the access token, then hands the
   * answer back with `lease` (`UserAuth.replaceClaims`). Null: sign with `claims` as they are.
   */
  claimsHook: { lease: number } | null;
}

/** A valid DPoP proof that came with a session request: its key's thumbprint, its `jti` and `iat`. */
export interface PresentedProof {
  jkt: string;
  jti: string;
  iat: number;
}

export type { RefreshRefusal };

/** The outcome of a refresh: the rule that decided, as `decideRefresh` named it, and for a refusal why (logs only: the client sees one `invalid_grant`). */
export type RefreshOutcome =
  | { ok: true; session: IssuedSession; rule: Extract<RefreshDecision, { kind: "rotate" | "grace_replay" }>["rule"] }
  | { ok: false; reason: RefreshRefusal; rule: Exclude<RefreshDecision, { kind: "rotate" | "grace_replay" }>["rule"] };

/** An active session as the user's own listing shows it. Times in Unix ms. */
export interface ActiveSession {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number | null;
  userAgent: string | null;
  ip: string | null;
  amr: Amr[] | null;
  authTime: number;
}

/** What `GET /auth/account` reads from the user's object: their second factors and passkeys. */
export interface AccountFactors {
  mfa: { totp: boolean; recovery_codes_left: number };
  passkeys: number;
}
