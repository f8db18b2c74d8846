import { formatRefreshToken, hasValidMac, importSessionKey, newSessionKey, refreshTokenMac, type RefreshTokenParts } from "../tokens/refresh";
import type { IssuedSession } from "./rpc";
import type { Session } from "./session-store";

/**
 * The MAC keys of one `UserAuth` object's sessions, and the refresh tokens made with them
 * (src/tokens/refresh.ts has the format). Each session has its own random key, stored in its
 * row; a key is imported into WebCrypto once and kept in memory for as long as the object lives,
 * so a refresh costs one HMAC to check and one to issue. Nothing here decides anything: the
 * object asks whether a token is authentic, then applies the refresh rules.
 */
export class SessionKeys {
  readonly #imported = new Map<string, CryptoKey>();

  constructor(
    /** The hex id of the object: refresh tokens name it so they reach it without a lookup. */
    private readonly objectId: string,
    /** The stored raw key of a session, or null for an unknown session. */
    private readonly storedKey: (sessionId: string) => ArrayBuffer | null,
  ) {}

  /** A fresh random key for a new session, to store in its row. */
  newKey(): ArrayBuffer {
    return newSessionKey();
  }

  /**
   * Whether a presented token was made by this object for a session it still holds: the object
   * id is this one's and the MAC is right under the session's key (`crypto.subtle.verify`
   * compares in constant time). Says nothing about whether the generation is current: that is
   * for the refresh rules.
   */
  async isAuthentic(token: RefreshTokenParts): Promise<boolean> {
    if (token.objectId !== this.objectId) return false;
    const key = await this.#key(token.sessionId);
    return key !== null && (await hasValidMac(key, token));
  }

  /**
   * What the worker needs to answer for a session: its current refresh token (derived from the
   * stored generation, so issuing it after the transaction committed cannot hand out a token the
   * object does not know) and what the access token carries.
   */
  async issue(session: Session): Promise<IssuedSession> {
    const key = await this.#key(session.id);
    if (key === null) throw new Error(`no key for session ${session.id}`);
    const mac = await refreshTokenMac(key, session.id, session.generation);
    return {
      sub: session.sub,
      sessionId: session.id,
      refreshToken: formatRefreshToken({ objectId: this.objectId, sessionId: session.id, generation: session.generation, mac }),
      claims: session.claims,
      jkt: session.jkt,
      amr: session.amr,
      authTime: session.authTime,
    };
  }

  /** Drops the imported keys of sessions that were deleted. */
  forget(sessionIds: readonly string[]): void {
    for (const id of sessionIds) this.#imported.delete(id);
  }

  async #key(sessionId: string): Promise<CryptoKey | null> {
    const cached = this.#imported.get(sessionId);
    if (cached) return cached;
    const raw = this.storedKey(sessionId);
    if (raw === null) return null;
    const key = await importSessionKey(raw);
    this.#imported.set(sessionId, key);
    return key;
  }
}
