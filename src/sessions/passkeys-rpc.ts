import { RpcTarget } from "cloudflare:workers";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { Config } from "../config";
import type { Ceremony } from "../passkeys/ceremony";
import { decideAdd, decideLogin, type AddRefusal, type LoginRefusal } from "../passkeys/passkey-rules";
import type { Passkey, PasskeyStore } from "../passkeys/passkey-store";
import { relyingParty, verifyAssertion, type VerifiedPasskey } from "../passkeys/relying-party";
import type { ClientInfo, IssuedSession, PresentedProof } from "./rpc";
import type { SessionKeys } from "./session-keys";
import { sessionOpening } from "./sign-in";
import type { UserSessions } from "./user-sessions";

/** What the user's object lends its passkey methods: its storage, passkeys, sessions, keys and settings. */
export interface PasskeyParts {
  storage: DurableObjectStorage;
  passkeys: PasskeyStore;
  sessions: UserSessions;
  keys: SessionKeys;
  /** The object's settings, from its own env. */
  settings: () => Config;
  /** Hands back a result once storage committed, and drains the outbox after it. */
  afterCommit: <T>(result: T) => T;
  /** Deletes the object's storage if it holds nothing, its empty tables included. */
  forgetIfEmpty: () => Promise<unknown>;
}

/** Who is asking for a change to their passkeys: the Bearer token's user and session, and the client. */
export interface PasskeyCaller {
  sub: string;
  sessionId: string;
  client: ClientInfo;
}

/** What storing a verified passkey answers: the passkey as listed, or why not (logs only, but `limit`). */
export type PasskeyAdd = { ok: true; passkey: Passkey } | { ok: false; reason: AddRefusal };

/** What a passkey login answers: the session it opened, or why not (logs only) and whether the credential is this user's. */
export type PasskeyLogin =
  | { ok: true; session: IssuedSession }
  | { ok: false; reason: LoginRefusal; problem: string | null };

/**
 * The passkeys of a user's `UserAuth` object (`UserAuth.passkeys()`), as an RPC target of their
 * own so the object's class stays its session methods: store a passkey whose registration the
 * worker verified, list and delete them, and sign in with one: the assertion is checked here,
 * where the public key and the sign counter are, and the session opens in the same transaction
 * that spends the ceremony and stores the counter, so of two logins with one ceremony exactly one
 * gets a session. The rules are in src/passkeys/passkey-rules.ts.
 */
export class PasskeysRpc extends RpcTarget {
  readonly #parts: PasskeyParts;

  constructor(parts: PasskeyParts) {
    super();
    this.#parts = parts;
  }

  /** The user's passkeys, oldest first: `GET /auth/passkeys`, and the registration options' `excludeCredentials`. */
  list(): Passkey[] {
    return this.#parts.passkeys.list();
  }

  /** How many passkeys the user has: `GET /auth/account`, and whether an identity is their last way in. */
  count(): number {
    return this.#parts.passkeys.count();
  }

  /**
   * Stores a passkey the worker verified against `ceremony` (a registration of this user), unless
   * the ceremony was spent already, the credential is this user's already, or the user has 20.
   * Spends the ceremony and records `passkey_added` in the same transaction.
   */
  add(input: { caller: PasskeyCaller; ceremony: Pick<Ceremony, "id" | "expiresAt">; passkey: VerifiedPasskey; name: string | null }): PasskeyAdd {
    const { storage, passkeys, sessions, afterCommit } = this.#parts;
    const { caller, ceremony, passkey, name } = input;
    const applied = storage.transactionSync(() => {
      const now = Date.now();
      const refusal = decideAdd({
        ceremonySpent: passkeys.ceremonySpent(ceremony.id, now),
        spentCeremonies: passkeys.spentCeremonies(),
        exists: passkeys.get(passkey.id) !== null,
        passkeys: passkeys.count(),
      });
      if (refusal !== null) return { ok: false as const, reason: refusal };
      passkeys.insert(passkey, name, now);
      passkeys.markCeremonySpent(ceremony.id, ceremony.expiresAt);
      sessions.auditUser("passkey_added", caller.sub, caller.sessionId, now, caller.client.ip, { passkey_id: passkey.id, name });
      const stored: Passkey = { id: passkey.id, name, createdAt: now, lastUsedAt: null, backedUp: passkey.backedUp, transports: passkey.transports };
      return { ok: true as const, passkey: stored };
    });
    return afterCommit(applied);
  }

  /** Deletes one of the user's passkeys and records `passkey_removed`; false when the user has none of that id. */
  remove(input: { caller: PasskeyCaller; id: string }): boolean {
    const { storage, passkeys, sessions, afterCommit } = this.#parts;
    const removed = storage.transactionSync(() => {
      if (!passkeys.delete(input.id)) return false;
      sessions.auditUser("passkey_removed", input.caller.sub, input.caller.sessionId, Date.now(), input.caller.client.ip, { passkey_id: input.id });
      return true;
    });
    return afterCommit(removed);
  }

  /**
   * Signs `sub` (whose object this is: the assertion's `userHandle` named it) in with a passkey:
   * the assertion checked against the stored key (challenge, origin, RP ID, user verification,
   * signature), then in one transaction the ceremony's single use and the sign counter rule; a
   * count that went backwards refuses the login and records `passkey_counter_regressed` (a cloned
   * authenticator). A credential this user does not have writes nothing.
   */
  async login(input: {
    sub: string;
    ceremony: Ceremony;
    credential: AuthenticationResponseJSON;
    /** The gateway's own origin as the request reached it: one of the origins a response may come from. */
    ownOrigin: string;
    client: ClientInfo;
    proof: PresentedProof | null;
  }): Promise<PasskeyLogin> {
    const { storage, passkeys, sessions, keys, settings, afterCommit } = this.#parts;
    const { sub, ceremony, credential, client } = input;
    const stored = passkeys.get(credential.id);
    if (stored === null) {
      // A user handle nobody registered names an object that exists only since this call.
      await this.#parts.forgetIfEmpty();
      return { ok: false, reason: "unknown_credential", problem: null };
    }
    const verdict = await verifyAssertion(relyingParty(settings(), input.ownOrigin), ceremony, credential, stored);
    if (!verdict.ok) return { ok: false, reason: "not_verified", problem: verdict.problem };

    const applied = storage.transactionSync(() => {
      const now = Date.now();
      // Read again: the passkey may have been deleted, or used, while the signature was checked.
      const current = passkeys.get(credential.id);
      if (current === null) return { ok: false as const, reason: "unknown_credential" as const, problem: null };
      const decision = decideLogin({
        ceremonySpent: passkeys.ceremonySpent(ceremony.id, now),
        spentCeremonies: passkeys.spentCeremonies(),
        storedCounter: current.counter,
        presentedCounter: verdict.counter,
      });
      if (!decision.ok) {
        if (decision.reason === "counter_regressed") {
          sessions.auditUser("passkey_counter_regressed", sub, null, now, client.ip, {
            passkey_id: current.id,
            stored_counter: current.counter,
            presented_counter: verdict.counter,
          });
        }
        return { ok: false as const, reason: decision.reason, problem: null };
      }
      passkeys.saveUse(current.id, { counter: decision.counter, backedUp: verdict.backedUp }, now);
      passkeys.markCeremonySpent(ceremony.id, ceremony.expiresAt);
      return { ok: true as const, session: sessions.open(sessionOpening({ method: "passkey", sub }, now), client, input.proof, now) };
    });
    const outcome: PasskeyLogin = applied.ok ? { ok: true, session: await keys.issue(applied.session) } : applied;
    return afterCommit(outcome);
  }

  /** How many passkeys and spent ceremonies this object keeps (for the storage-bound tests). */
  counts(): { passkeys: number; spentCeremonies: number } {
    return { passkeys: this.#parts.passkeys.count(), spentCeremonies: this.#parts.passkeys.spentCeremonies() };
  }
}
