import type { SessionClaims } from "../tokens/access";
import type { ExpiryReason, RefusalReason } from "./refresh-rules";

/**
 * What the worker and the UserAuth Durable Object hand each other over RPC. The worker imports
 * these types, never the object's module.
 */

/** Who is asking, for the session record and the audit trail. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

/** What a login, an admin session or a refresh hands back to the worker, which signs the access token. */
export interface IssuedSession {
  sub: string;
  sessionId: string;
  refreshToken: string;
  claims: SessionClaims;
  /** The thumbprint of the DPoP key the session is bound to: its access tokens carry it as `cnf.jkt`. */
  jkt: string | null;
}

/** A valid DPoP proof that came with a session request: its key's thumbprint, its `jti` and `iat`. */
export interface PresentedProof {
  jkt: string;
  jti: string;
  iat: number;
}

/** Why a refresh was refused: for the worker's log only, the client sees one `invalid_grant`. */
export type RefreshRefusal = RefusalReason | ExpiryReason | "reuse";

export type RefreshOutcome =
  | { ok: true; session: IssuedSession; rule: 3 | 4 }
  | { ok: false; reason: RefreshRefusal; rule: 1 | "dpop" | 2 | 5 };

/** An active session as the user's own listing shows it. Times in Unix ms. */
export interface ActiveSession {
  id: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number | null;
  userAgent: string | null;
  ip: string | null;
}
