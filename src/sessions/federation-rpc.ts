import { RpcTarget } from "cloudflare:workers";
import { newOneTimeSecret } from "../tokens/one-time-secrets";
import { AuthorizationCodeStore, CODE_TTL_MS, decideCodeExchange, LINK_TICKET_TTL_MS, type CodeRefusal, type PresentedCode } from "./authorization-codes";
import type { ClientInfo, IssuedSession, PresentedProof, SessionOpening } from "./rpc";
import type { SessionKeys } from "./session-keys";
import type { SessionStore } from "./session-store";
import type { UserSessions } from "./user-sessions";

/** What the user's object lends its federation methods: its storage, sessions and keys. */
export interface FederationParts {
  storage: DurableObjectStorage;
  objectId: string;
  codes: AuthorizationCodeStore;
  store: SessionStore;
  sessions: UserSessions;
  keys: SessionKeys;
  /** Hands back a result once storage committed, and drains the D1 outbox after it. */
  afterCommit: <T>(result: T) => T;
}

/** What an exchange answers: the session it opened, or why not (logs only), and the session a reuse revoked. */
export type CodeExchange = { ok: true; session: IssuedSession } | { ok: false; reason: CodeRefusal; revokedSessionId: string | null };

/**
 * The federated sign-in methods of a user's `UserAuth` object (`UserAuth.federation()`), as an
 * RPC target of their own so the object's class stays its session methods: issue an
 * authorization code for a sign-in the callback verified, spend one at `/auth/token` (opening
 * the session in the same transaction), issue and spend link tickets. The store and the rules are
 * in authorization-codes.ts.
 */
export class FederationRpc extends RpcTarget {
  readonly #parts: FederationParts;

  constructor(parts: FederationParts) {
    super();
    this.#parts = parts;
  }

  /** A code (60 s, single use) that opens `opening`'s session for this client, redirect URI and PKCE challenge. */
  async issueCode(input: { opening: SessionOpening; clientId: string; redirectUri: string; codeChallenge: string }): Promise<string> {
    const { value, hash } = await newOneTimeSecret("ac1", this.#parts.objectId);
    const now = Date.now();
    this.#parts.storage.transactionSync(() =>
      this.#parts.codes.insertCode(
        { hash, clientId: input.clientId, redirectUri: input.redirectUri, codeChallenge: input.codeChallenge, opening: input.opening, expiresAt: now + CODE_TTL_MS },
        now,
      ),
    );
    return value;
  }

  /**
   * Spends a code: the decision (`decideCodeExchange`) and all of its effects in one synchronous
   * transaction, so of two exchanges racing for one code exactly one opens a session. A second
   * use by a holder of the verifier revokes the session the first opened (RFC 6749 section 10.5).
   * The DPoP proof of the exchange binds the session, as at login.
   */
  async exchangeCode(input: { hash: string; presented: PresentedCode; client: ClientInfo; proof: PresentedProof | null }): Promise<CodeExchange> {
    const { storage, codes, store, sessions, keys, afterCommit } = this.#parts;
    const applied = storage.transactionSync(() => {
      const now = Date.now();
      const code = codes.code(input.hash);
      const matches = code !== null && sameText(code.codeChallenge, input.presented.challenge);
      const decision = decideCodeExchange(code, input.presented, matches, now);
      switch (decision.kind) {
        case "refuse":
          return { ok: false as const, reason: decision.reason, revokedSessionId: null };
        case "reuse": {
          const session = decision.sessionId === null ? null : store.get(decision.sessionId);
          const active = session !== null && session.revokedAt === null;
          if (active) {
            sessions.revoke([session], "code_reuse", now);
            sessions.audit("session_revoked", session, now, input.client.ip, { reason: "authorization_code_reuse" });
          }
          return { ok: false as const, reason: "reused" as const, revokedSessionId: active ? session.id : null };
        }
        case "exchange": {
          // The moment the user proved who they are is the callback's, when the provider vouched for them.
          const session = sessions.open(code!.opening, input.client, input.proof, now);
          codes.markSpent(input.hash, session.id, now);
          return { ok: true as const, session };
        }
      }
    });
    const outcome: CodeExchange = applied.ok ? { ok: true, session: await keys.issue(applied.session) } : applied;
    return afterCommit(outcome);
  }

  /** A link ticket (10 minutes, single use) whose flow links `provider`'s identity to `sub`. */
  async issueLinkTicket(input: { sub: string; provider: string }): Promise<string> {
    const { value, hash } = await newOneTimeSecret("lt1", this.#parts.objectId);
    const now = Date.now();
    this.#parts.storage.transactionSync(() => this.#parts.codes.insertLinkTicket({ hash, sub: input.sub, provider: input.provider, expiresAt: now + LINK_TICKET_TTL_MS }, now));
    return value;
  }

  /** Spends a link ticket: who it links and to which provider, or null when unknown, spent or expired. */
  takeLinkTicket(hash: string): { sub: string; provider: string } | null {
    return this.#parts.storage.transactionSync(() => this.#parts.codes.takeLinkTicket(hash, Date.now()));
  }

  /** How many codes and link tickets this object keeps (for the storage-bound tests). */
  counts(): { codes: number; linkTickets: number } {
    return this.#parts.codes.counts();
  }
}

// Constant time over equal lengths; a length difference is not secret (an S256 challenge is always 43 characters).
function sameText(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  return left.byteLength === right.byteLength && crypto.subtle.timingSafeEqual(left, right);
}
