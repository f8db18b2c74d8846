import type { DpopKeyStore } from "./dpop-key-store.js";
import { AuthClientError, loggedOut } from "./errors.js";
import type { AuthClientOptions, AuthEvent, ClientEnvironment } from "./options.js";
import { sessionFromTokenResponse, sessionInfo } from "./responses.js";
import { TabSync, type LogoutReason, type TabMessage } from "./tab-sync.js";
import { tokenStore, type StorageMode, type StoredSession, type TokenStore } from "./token-store.js";

/**
 * What this page knows of the session, and who hears when it changes: the stored session, the
 * other tabs (one lock, one channel), the listeners and `onLoggedOut`. Every way a session begins
 * (`accept`) or ends (`end`) goes through here, so the tabs and the listeners hear of each once.
 */
export class SessionState {
  readonly #mode: StorageMode;
  readonly #store: TokenStore;
  /** The other tabs of the origin; null in memory mode, where each page has its own session. */
  readonly sync: TabSync | null;
  readonly #dpop: DpopKeyStore | null;
  readonly #onLoggedOut: ((reason: LogoutReason) => void) | undefined;
  readonly #listeners = new Set<(event: AuthEvent) => void>();
  /** The session this page last knew of: a change from it to none is a logout to report. */
  #knownSessionId: string | null;
  #cookieRefused = false;

  /** `key` names the stored session, the lock and the channel (`storageKey`). */
  constructor(options: AuthClientOptions, env: ClientEnvironment, key: string, dpop: DpopKeyStore | null) {
    const mode = (this.#mode = options.storage);
    this.#store = tokenStore(mode, key, env.localStorage);
    this.#dpop = dpop;
    this.#onLoggedOut = options.onLoggedOut;
    this.sync =
      mode === "memory" ? null : new TabSync(key, { locks: env.locks, BroadcastChannel: env.BroadcastChannel, storage: env.localStorage }, (message) => this.#onTabMessage(message));
    this.#knownSessionId = this.#store.read()?.sessionId ?? null;
  }

  /** The stored session, or null. */
  read(): StoredSession | null {
    return this.#store.read();
  }

  /** Cookie mode: the cookie was refused, so there is no point asking with it until a login. */
  get cookieRefused(): boolean {
    return this.#cookieRefused;
  }

  /**
   * A token response that opens (`login`, by whichever way in) or renews (`refresh`) the session:
   * kept, announced to the other tabs and the listeners.
   */
  async accept(response: Response, sentAt: number, event: "login" | "refresh"): Promise<StoredSession> {
    const session = await sessionFromTokenResponse(response, sentAt, this.#mode);
    this.#store.write(session);
    this.#knownSessionId = session.sessionId;
    this.#cookieRefused = false;
    if (event === "refresh" && this.#mode === "cookie") this.sync?.setRotationStamp(session.expiresAt);
    this.sync?.post({ type: "session", event, sessionId: session.sessionId, tokenType: session.tokenType, expiresAt: session.expiresAt, session });
    this.#emit({ type: event, session: sessionInfo(session), fromOtherTab: false });
    return session;
  }

  /** The gateway refused the refresh (`status`): the session is over, and `onLoggedOut` hears why. */
  refused(refusal: AuthClientError, status: number): AuthClientError {
    this.#cookieRefused = this.#mode === "cookie";
    this.end("refresh_refused", true);
    return new AuthClientError("logged_out", `The session ended: ${refusal.message}`, status);
  }

  /** Forgets the session and tells the other tabs; reports it unless this page asked for it. */
  end(reason: LogoutReason, report: boolean): void {
    const sessionId = this.#store.read()?.sessionId ?? this.#knownSessionId;
    this.#store.clear();
    // A new session, a new key. Failing to delete it only means the next session reuses it.
    this.#dpop?.forget().catch(() => undefined);
    this.sync?.post({ type: "logout", reason, sessionId });
    this.#ended(reason, report, false);
  }

  /** No session: if this page thought it had one, another tab ended it. */
  gone(): AuthClientError {
    this.#ended("logged_out", true, true);
    return loggedOut();
  }

  /** Runs `task` holding the origin-wide refresh lock (or directly, without one); `contended`: it waited for another tab. */
  exclusive<T>(task: (contended: boolean) => Promise<T>): Promise<T> {
    return this.sync ? this.sync.exclusive(task) : task(false);
  }

  subscribe(listener: (event: AuthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #ended(reason: LogoutReason, report: boolean, fromOtherTab: boolean): void {
    if (this.#knownSessionId === null) return;
    this.#knownSessionId = null;
    this.#emit({ type: "logout", reason, fromOtherTab });
    if (report) this.#onLoggedOut?.(reason);
  }

  #onTabMessage(message: TabMessage): void {
    if (message.type === "logout") {
      // The other tab cleared localStorage already, but this tab may see that change after the
      // message: the session that ended is gone whatever this tab's copy says. Another session (a
      // newer login elsewhere) stays.
      const stored = this.#store.read();
      if (stored && (stored.sessionId === message.sessionId || (message.sessionId === null && this.#mode === "cookie"))) this.#store.clear();
      if (!this.#store.read()) this.#ended(message.reason, true, true);
      return;
    }
    if (message.session) {
      const current = this.#store.read();
      if (!current || current.expiresAt <= message.session.expiresAt) this.#store.write(message.session);
    }
    this.#knownSessionId = message.sessionId;
    this.#cookieRefused = false;
    this.#emit({ type: message.event, session: { sessionId: message.sessionId, tokenType: message.tokenType, accessTokenExpiresAt: message.expiresAt }, fromOtherTab: true });
  }

  #emit(event: AuthEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // One broken listener must not stop a refresh from completing.
        console.error(error);
      }
    }
  }
}
