import { DurableObject } from "cloudflare:workers";
import { requireSettings } from "../config";
import type { EventType } from "../wire";
import { AlarmSchedule } from "../durable/alarm-schedule";
import { Outbox } from "../durable/outbox";
import { migrateStores } from "../durable/store-schema";
import type { SessionClaims } from "../tokens/access";
import type { RefreshTokenParts } from "../tokens/refresh";
import { claimsHookOf } from "./claims-lease";
import { isActive, listedSessions, nextWakeUp } from "./lifecycle";
import { decideRefresh, expiredReason, wasIssued } from "./refresh-rules";
import type { AccountFactors, ActiveSession, ClientInfo, IssuedSession, PresentedProof, RefreshOutcome, SessionOpening } from "./rpc";
import { SessionKeys } from "./session-keys";
import { SESSIONS_SCHEMA, SessionStore, type Session } from "./session-store";
import { UserSessions, type UserSessionSettings } from "./user-sessions";
import { AUTHORIZATION_CODES_SCHEMA, AuthorizationCodeStore } from "./authorization-codes";
import { FederationRpc } from "./federation-rpc";
import { PASSKEYS_SCHEMA, PasskeyStore } from "../passkeys/passkey-store";
import { PasskeysRpc } from "./passkeys-rpc";
import { MFA_SCHEMA, MfaStore } from "../mfa/mfa-store";
import { MfaRpc } from "./mfa-rpc";
import { AccountRpc } from "./account-rpc";
import { ACCOUNT_SCHEMA, AccountStore } from "./account-store";
import { ObjectTables } from "./object-tables";

/** The stores of the object's SQLite storage (src/durable/store-schema.ts): a feature with tables of its own adds its schema here. */
const STORES = [SESSIONS_SCHEMA, AUTHORIZATION_CODES_SCHEMA, PASSKEYS_SCHEMA, MFA_SCHEMA, ACCOUNT_SCHEMA];

/**
 * One per user (`idFromName(sub)`): the authority on that user's sessions and refresh tokens.
 * Every login, refresh, logout and revocation of the user runs here, one at a time, so rotation
 * and reuse detection need no locks. This class is the RPC methods and their transaction
 * boundaries only: pure functions decide (`refresh-rules.ts`, `lifecycle.ts`,
 * `storage-bounds.ts`), `UserSessions` writes each change with its D1 record and audit event,
 * `SessionStore` holds the SQL and `SessionKeys` the refresh-token MACs. Settings come from this
 * object's own env, like the worker's. Tables: docs/storage.md.
 */
export class UserAuth extends DurableObject<Env> {
  readonly #store: SessionStore;
  readonly #keys: SessionKeys;
  readonly #alarm: AlarmSchedule;
  readonly #outbox: Outbox;
  readonly #sessions: UserSessions;
  readonly #codes: AuthorizationCodeStore;
  readonly #passkeys: PasskeyStore;
  readonly #mfa: MfaStore;
  readonly #account: AccountStore;
  readonly #tables: ObjectTables;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrateStores(ctx.storage, STORES);
    this.#tables = new ObjectTables(ctx.storage, () => {
      migrateStores(ctx.storage, STORES);
      this.#outbox.createTable();
    });
    this.#store = new SessionStore(ctx.storage.sql);
    this.#keys = new SessionKeys(ctx.id.toString(), (sessionId) => this.#store.macKey(sessionId));
    this.#alarm = new AlarmSchedule(ctx);
    this.#outbox = new Outbox(ctx.storage.sql, () => this.env, this.#alarm);
    this.#sessions = new UserSessions(this.#store, this.#keys, this.#outbox, (at) => this.#alarm.noLaterThan(at), () => this.#settings, () => claimsHookOf(this.env));
    this.#codes = new AuthorizationCodeStore(ctx.storage.sql);
    this.#passkeys = new PasskeyStore(ctx.storage.sql);
    this.#mfa = new MfaStore(ctx.storage.sql);
    this.#account = new AccountStore(ctx.storage.sql);
  }

  /** What every RPC target of this object is lent; each target takes the parts it needs. */
  #lent() {
    this.#tables.ensure();
    return {
      storage: this.ctx.storage,
      objectId: this.ctx.id.toString(),
      store: this.#store,
      sessions: this.#sessions,
      keys: this.#keys,
      afterCommit: <T>(result: T) => this.#flushAfterCommit(result),
    };
  }

  /** The user's second factor: TOTP, recovery codes, and logins waiting for a code (src/sessions/mfa-rpc.ts). */
  mfa(): MfaRpc {
    return new MfaRpc({ ...this.#lent(), mfa: this.#mfa });
  }

  /** The user's account lifecycle: verification codes, reset tokens, password changes, deletion (src/sessions/account-rpc.ts). */
  account(): AccountRpc {
    return new AccountRpc({ ...this.#lent(), account: this.#account, outbox: this.#outbox, eraseStorage: () => this.#eraseStorage() });
  }

  /** The user's federated sign-ins: authorization codes and link tickets (src/sessions/federation-rpc.ts). */
  federation(): FederationRpc {
    return new FederationRpc({ ...this.#lent(), codes: this.#codes });
  }

  /** The user's passkeys: store, list, delete, and sign in with one (src/sessions/passkeys-rpc.ts). */
  passkeys(): PasskeysRpc {
    return new PasskeysRpc({
      ...this.#lent(),
      passkeys: this.#passkeys,
      settings: () => requireSettings(this.env),
      forgetIfEmpty: () => this.#tables.eraseIfEmpty(),
    });
  }

  /** The user's second factors and passkeys, for `GET /auth/account`: one call, whatever stores answer it. */
  accountFactors(): AccountFactors {
    const mfa = this.mfa().status();
    return { mfa: { totp: mfa.totp, recovery_codes_left: mfa.recoveryCodesLeft }, passkeys: this.#passkeys.count() };
  }

  /**
   * Opens a session as `opening` describes it (every way in builds one with `sessionOpening`,
   * src/sessions/sign-in.ts) and returns its first refresh token; with a DPoP proof, the session
   * is bound to the proof's key from the start. This is the only place a session is bound: a
   * refresh never binds one (see `decideRefresh`).
   */
  async openSession(input: { opening: SessionOpening; client: ClientInfo; proof: PresentedProof | null }): Promise<IssuedSession> {
    this.#tables.ensure();
    const session = this.ctx.storage.transactionSync(() => this.#sessions.open(input.opening, input.client, input.proof, Date.now()));
    return this.#flushAfterCommit(await this.#keys.issue(session));
  }

  /** The user's active sessions, newest first: what `GET /auth/sessions` lists, read here so the user always sees their own writes. */
  listSessions(): ActiveSession[] {
    this.#tables.ensure();
    return listedSessions(this.#store.active(), this.#settings.session, Date.now());
  }

  /**
   * Applies the refresh rules (docs/api.md, "Refresh rules") to a presented refresh token and
   * the DPoP proof that came with it, if any (checked by the worker): the MAC check first (it
   * needs `await`), then the decision and all of its effects in one synchronous transaction, so
   * two refreshes of one token can never both see it as current.
   */
  async refresh(input: { token: RefreshTokenParts; client: ClientInfo; proof: PresentedProof | null }): Promise<RefreshOutcome> {
    this.#tables.ensure();
    const authentic = await this.#keys.isAuthentic(input.token);
    const applied = this.ctx.storage.transactionSync(() => this.#applyRefreshRules(input.token, authentic, input.client, input.proof));
    // Committed. The token handed out is derived from the stored generation, so computing it
    // after the transaction cannot hand out one the object does not know.
    const outcome: RefreshOutcome = applied.ok ? { ok: true, rule: applied.rule, session: await this.#keys.issue(applied.session) } : applied;
    return this.#flushAfterCommit(outcome);
  }

  /** The decision of the rules (`decideRefresh`) and its effects; runs inside `refresh`'s transaction. */
  #applyRefreshRules(
    token: RefreshTokenParts,
    authentic: boolean,
    client: ClientInfo,
    proof: PresentedProof | null,
  ): { ok: true; rule: 3 | 4; session: Session } | Extract<RefreshOutcome, { ok: false }> {
    const now = Date.now();
    const session = authentic ? this.#store.get(token.sessionId) : null;
    const presented = {
      generation: token.generation,
      authentic,
      proof: proof && session ? { jkt: proof.jkt, jtiSeen: this.#store.proofSeen(session.id, proof.jti, now) } : null,
    };
    const decision = decideRefresh(session, presented, this.#settings.session, now);
    // Every decision but rule 1's is about a session the object holds, and only a bound
    // session's proof is remembered.
    if (decision.rememberProof) this.#sessions.rememberProof(session!, proof!, now);
    switch (decision.kind) {
      case "refuse":
        return { ok: false, rule: decision.rule, reason: decision.reason };
      case "dpop_failure":
        this.#sessions.dpopFailed(session!, decision.failure, now, client.ip);
        return { ok: false, rule: decision.rule, reason: decision.reason };
      case "expire":
        this.#sessions.expire(session!, decision.reason, now, client.ip);
        return { ok: false, rule: decision.rule, reason: decision.reason };
      case "rotate":
        return { ok: true, rule: decision.rule, session: this.#sessions.rotate(session!, client, now) };
      case "grace_replay":
        return { ok: true, rule: decision.rule, session: this.#sessions.graceReplay(session!, client, now) };
      case "reuse":
        this.#sessions.reuseDetected(session!, decision, now, client.ip);
        return { ok: false, rule: decision.rule, reason: decision.reason };
    }
  }

  /**
   * Stores the claims hook's answer for the call an opening or a refresh handed out
   * (`IssuedSession.claimsHook`), unless the session ended or a later call was handed out since;
   * returns the claims the access token is to carry: what the session holds afterwards.
   */
  replaceClaims(input: { sessionId: string; lease: number; claims: SessionClaims }): SessionClaims | null {
    this.#tables.ensure();
    return this.ctx.storage.transactionSync(() => this.#sessions.replaceClaims(input.sessionId, input.lease, input.claims));
  }

  /** Whether the session is active right now (not revoked, within its limits): `POST /auth/introspect`. */
  isSessionActive(sessionId: string): boolean {
    this.#tables.ensure();
    const session = this.#store.get(sessionId);
    return session !== null && isActive(session, this.#settings.session, Date.now());
  }

  /**
   * Logs out the session of a refresh token: any token of the chain, current or already rotated,
   * and no reuse handling. Idempotent. False when the token is not one this object issued.
   */
  async logoutWithRefreshToken(input: { token: RefreshTokenParts; client: ClientInfo }): Promise<boolean> {
    this.#tables.ensure();
    const session = this.#store.get(input.token.sessionId);
    if (!(await this.#keys.isAuthentic(input.token)) || !session || !wasIssued(session, input.token.generation)) return false;
    await this.revokeSession({ sessionId: input.token.sessionId, event: "logout", client: input.client });
    return true;
  }

  /**
   * Revokes one session of this user. Returns false when it is not an active session here
   * (unknown, already revoked or expired), which lets logout stay idempotent and lets
   * `DELETE /auth/sessions/:id` answer 404.
   */
  async revokeSession(input: { sessionId: string; event: Extract<EventType, "logout" | "session_revoked">; client: ClientInfo }): Promise<boolean> {
    this.#tables.ensure();
    const revoked = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const session = this.#store.get(input.sessionId);
      if (!session || session.revokedAt !== null) return false;
      const expired = expiredReason(session, this.#settings.session, now);
      if (expired) {
        this.#sessions.expire(session, expired, now, input.client.ip);
        return false;
      }
      this.#sessions.revoke([session], input.event, now);
      this.#sessions.audit(input.event, session, now, input.client.ip, null);
      return true;
    });
    return this.#flushAfterCommit(revoked);
  }

  /** Revokes every active session of this user; returns their ids. */
  async revokeAllSessions(input: {
    event: Extract<EventType, "logout_all" | "admin_revoke">;
    sub: string;
    currentSessionId: string | null;
    client: ClientInfo;
  }): Promise<string[]> {
    this.#tables.ensure();
    const ids = this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      const revoked: Session[] = this.#store.active();
      this.#sessions.revoke(revoked, input.event, now);
      const ids = revoked.map((session) => session.id);
      this.#sessions.auditUser(input.event, input.sub, input.currentSessionId, now, input.client.ip, { revoked_session_ids: ids });
      return ids;
    });
    return this.#flushAfterCommit(ids);
  }

  /**
   * Retries outbox sends that failed, marks sessions that ran past their limits as expired, and
   * deletes ended sessions once `SESSION_RETENTION_SECONDS` have passed.
   */
  override async alarm(): Promise<void> {
    this.#tables.ensure();
    this.#alarm.fired();
    this.ctx.storage.transactionSync(() => {
      const now = Date.now();
      this.#sessions.expireOverdue(now);
      this.#sessions.purge(now);
    });
    await this.#outbox.flush();
    this.#alarm.noLaterThan(nextWakeUp(this.#store.all(), this.#settings.session));
  }

  /**
   * Deletes this object's whole storage (`deleteAll`, and the alarm): the object goes on answering
   * as a new user's would, unknown sessions, nothing stored, its tables back at its next call.
   */
  async #eraseStorage(): Promise<void> {
    this.#keys.forget(this.#store.all().map((session) => session.id));
    await this.#tables.erase();
    this.#alarm.fired();
  }

  /**
   * This object's settings, from its own env: the one place it reads them. The worker refuses
   * every request while the configuration is bad, so a bad one here means the env changed under
   * a running object: the call fails, naming the variable.
   */
  get #settings(): UserSessionSettings {
    return requireSettings(this.env);
  }

  /**
   * Hands back `result` once this object's storage has committed (the runtime holds the reply
   * until it has), and sends the outbox to the EVENTS queue after it, so no request waits on the
   * queue or on D1 (which only the queue's consumer writes). A failed or interrupted send is
   * retried by the alarm the outbox set.
   */
  #flushAfterCommit<T>(result: T): T {
    this.ctx.waitUntil(this.#outbox.flush());
    return result;
  }
}
