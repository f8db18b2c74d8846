import { createDpopProof, type DpopKey } from "./dpop.js";
import { DpopKeyStore } from "./dpop-key-store.js";
import { AuthClientError, errorFromResponse, loggedOut } from "./errors.js";
import { browserEnvironment, type AuthClientOptions, type AuthEvent, type ClientEnvironment, type SessionInfo, type SessionRecord } from "./options.js";
import { TabSync, type LogoutReason, type TabMessage } from "./tab-sync.js";
import { tokenStore, type StorageMode, type StoredSession, type TokenStore } from "./token-store.js";
import type { SessionList, TokenResponse } from "../wire.js";

const EXPIRED = /error="invalid_token"[^]*error_description="[^"]*expired/i;

/**
 * A client of the gateway for browser apps, used instead of `fetch` for API calls: it attaches the
 * access token, refreshes it shortly before it expires when a request is about to be sent (no
 * timer runs in the background) and once more when the gateway answers 401 "expired", with one
 * refresh for however many requests need it and for all tabs of the origin.
 *
 * @example
 * const auth = new AuthClient({ storage: "localStorage", onLoggedOut: () => showLogin() });
 * await auth.login("bob", "correct horse battery");
 * const orders = await (await auth.fetch("/api/orders")).json();
 */
export class AuthClient {
  readonly #mode: StorageMode;
  readonly #origin: string;
  /** The page is on another origin than the gateway, whose CORS answer may refuse it. */
  readonly #crossOrigin: boolean;
  readonly #store: TokenStore;
  readonly #sync: TabSync | null;
  /** DPoP mode: where the key is; null otherwise. */
  readonly #dpop: DpopKeyStore | null = null;
  readonly #env: ClientEnvironment;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #options: AuthClientOptions;
  readonly #listeners = new Set<(event: AuthEvent) => void>();
  #inFlight: Promise<StoredSession> | null = null;
  /** The session this page last knew of: a change from it to none is a logout to report. */
  #knownSessionId: string | null;
  /** Cookie mode: the cookie was refused, so there is no point asking with it until a login. */
  #cookieRefused = false;

  constructor(options: AuthClientOptions) {
    if (!["memory", "localStorage", "cookie"].includes(options.storage)) {
      throw new TypeError('storage must be "memory", "localStorage" or "cookie".');
    }
    this.#options = options;
    this.#mode = options.storage;
    this.#env = { ...browserEnvironment(), ...options.environment };
    const page = (globalThis as { location?: { href: string } }).location?.href;
    const base = options.baseUrl ?? page;
    if (base === undefined) throw new TypeError("baseUrl is required outside a page.");
    this.#origin = new URL(base).origin;
    this.#crossOrigin = page !== undefined && new URL(page).origin !== this.#origin;
    const globalFetch = globalThis.fetch?.bind(globalThis);
    this.#fetch = options.fetch ?? ((request) => globalFetch(request));
    const key = options.storageKey ?? "edge-auth";
    this.#store = tokenStore(this.#mode, key, this.#env.localStorage);
    // Memory mode: each page has its own session, nothing to share.
    this.#sync =
      this.#mode === "memory"
        ? null
        : new TabSync(key, { locks: this.#env.locks, BroadcastChannel: this.#env.BroadcastChannel, storage: this.#env.localStorage }, (message) =>
            this.#onTabMessage(message),
          );
    this.#knownSessionId = this.#store.read()?.sessionId ?? null;
    if (options.dpop) {
      // A key that lived only in the page would be lost on reload, and the session with it.
      if (this.#mode !== "memory" && !this.#env.indexedDB) throw new TypeError("dpop needs IndexedDB to keep its key (or pass environment.indexedDB).");
      this.#dpop = new DpopKeyStore(this.#mode === "memory" ? undefined : this.#env.indexedDB, key);
    }
  }

  /** The current session, or null; in cookie mode null until `restore()` or a first call after a reload. */
  get session(): SessionInfo | null {
    const session = this.#store.read();
    return session && info(session);
  }

  /** `POST /auth/register`; does not log in. */
  async register(username: string, password: string): Promise<{ userId: string }> {
    const response = await this.#send("/auth/register", { username, password }, false);
    if (response.status !== 201) throw await errorFromResponse(response);
    const body = (await response.json()) as { user_id: string };
    return { userId: body.user_id };
  }

  /** `POST /auth/login`: opens a session and keeps it where `storage` says. */
  async login(username: string, password: string): Promise<SessionInfo> {
    const sentAt = this.#env.now();
    const response = await this.#send("/auth/login", { username, password });
    if (!response.ok) throw await errorFromResponse(response);
    const session = await this.#sessionFrom(response, sentAt);
    this.#store.write(session);
    this.#knownSessionId = session.sessionId;
    this.#cookieRefused = false;
    this.#announce("login", session);
    return info(session);
  }

  /**
   * `fetch` for the API behind the gateway: `input` is a path (`/api/orders`) or a URL on the
   * gateway's origin; the access token goes to no other origin. Rejects with `logged_out` when
   * there is no session.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const request = input instanceof Request ? new Request(input, init) : new Request(new URL(String(input), this.#origin), init);
    const target = new URL(request.url).origin;
    if (target !== this.#origin) throw new TypeError(`AuthClient sends its access token to ${this.#origin} only, not to ${target}.`);
    // Kept for the one retry: the first attempt consumes the body.
    const replay = request.clone();
    const session = await this.#usableSession();
    const response = await this.#sendAuthorized(request, session);
    if (response.status !== 401 || !EXPIRED.test(response.headers.get("WWW-Authenticate") ?? "")) return response;
    // Expired before the client expected it (a clock that is off, a tab that slept): refresh, retry once.
    const renewed = await this.#refresh(session.accessToken);
    return this.#sendAuthorized(replay, renewed);
  }

  /** A valid access token, refreshed first if it is about to expire (for WebSockets, other clients). */
  async getAccessToken(): Promise<string> {
    return (await this.#usableSession()).accessToken;
  }

  /** Refreshes now, whatever the access token's age (one refresh however many ask). */
  async refresh(): Promise<SessionInfo> {
    const current = this.#store.read();
    if (!current && this.#mode !== "cookie") throw this.#gone();
    return info(await this.#refresh(current?.accessToken ?? null));
  }

  /**
   * Cookie mode: after a reload or in a new tab, the session is in the cookie only; this gets an
   * access token for it (null when there is none). Other modes: the stored session, if any.
   */
  async restore(): Promise<SessionInfo | null> {
    if (this.#mode !== "cookie" || this.#store.read()) return this.session;
    try {
      return info(await this.#refresh(null));
    } catch (error) {
      if (error instanceof AuthClientError && error.code === "logged_out") return null;
      throw error;
    }
  }

  /**
   * `POST /auth/logout`: ends this session on the gateway and forgets it here and in the other
   * tabs. Forgotten here even when the gateway cannot be reached (the error is thrown after).
   */
  async logout(): Promise<void> {
    await this.#exclusive(async () => {
      const session = this.#store.read();
      if (!session && this.#mode !== "cookie") return;
      try {
        // Cookie mode: the cookie says which session, and the gateway clears it.
        const response = await this.#send("/auth/logout", session?.refreshToken ? { refresh_token: session.refreshToken } : undefined);
        // 401: not a token of this gateway's, so there is nothing to end.
        if (!response.ok && response.status !== 401) throw await errorFromResponse(response);
      } finally {
        this.#end("logged_out", false);
      }
    });
  }

  /** `POST /auth/logout-all`: ends every session of the user, this one included. */
  async logoutAll(): Promise<void> {
    const response = await this.fetch("/auth/logout-all", { method: "POST" });
    if (response.status !== 204) throw await errorFromResponse(response);
    this.#end("logged_out", false);
  }

  /** `GET /auth/sessions`: the user's active sessions; `current` marks this one. */
  async sessions(): Promise<SessionRecord[]> {
    const response = await this.fetch("/auth/sessions");
    if (!response.ok) throw await errorFromResponse(response);
    return ((await response.json()) as SessionList).sessions;
  }

  /** `DELETE /auth/sessions/:id`: ends one of the user's sessions ("sign out my phone"). */
  async revokeSession(sessionId: string): Promise<void> {
    const response = await this.fetch(`/auth/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
    if (response.status !== 204) throw await errorFromResponse(response);
    if (sessionId === this.#store.read()?.sessionId) this.#end("logged_out", false);
  }

  /**
   * DPoP mode: the key proofs are signed with, made now if there is none (null when `dpop` is
   * off). Its private key cannot be exported; the RFC 7638 thumbprint of `jwk` is the access
   * token's `cnf.jkt`.
   */
  async dpopKey(): Promise<DpopKey | null> {
    return this.#dpop && (await this.#dpop.key());
  }

  /** Calls `listener` on every login, refresh and logout, in this tab or another. Returns the unsubscribe. */
  subscribe(listener: (event: AuthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops listening to the other tabs. */
  close(): void {
    this.#sync?.close();
  }

  // --- sessions ---

  async #usableSession(): Promise<StoredSession> {
    const session = this.#store.read();
    if (!session) {
      // Cookie mode: a reload or a new tab has the cookie but no access token yet.
      if (this.#mode === "cookie" && !this.#cookieRefused) return this.#refresh(null);
      throw this.#gone();
    }
    if (session.expiresAt - this.#env.now() > this.#leewayMs(session)) return session;
    return this.#refresh(session.accessToken);
  }

  #leewayMs(session: StoredSession): number {
    return Math.min((this.#options.refreshBeforeExpirySeconds ?? 30) * 1000, session.lifetimeMs / 2);
  }

  /**
   * Single flight: however many callers find the token stale, one refresh runs in this page and all
   * of them get its result. `stale` is the access token the caller found wanting (null: none).
   */
  #refresh(stale: string | null): Promise<StoredSession> {
    this.#inFlight ??= this.#refreshAcrossTabs(stale).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  /** One refresh for all tabs: under the origin's lock, and only if no other tab did it meanwhile. */
  #refreshAcrossTabs(stale: string | null): Promise<StoredSession> {
    const stampBefore = this.#sync?.rotationStamp() ?? 0;
    return this.#exclusive(async () => {
      const current = this.#store.read();
      if (current && current.accessToken !== stale && this.#isFresh(current)) return current;
      if (this.#mode === "cookie" && this.#sync && this.#sync.rotationStamp() !== stampBefore) {
        // Another tab rotated while this one waited; its access token is on the way by message.
        const shared = await this.#sync.waitForSession(this.#sync.rotationStamp(), 1_000);
        if (shared && this.#isFresh(shared)) return shared;
      }
      if (!current && this.#mode !== "cookie") throw this.#gone();
      return this.#rotate(current?.refreshToken ?? null);
    });
  }

  #isFresh(session: StoredSession): boolean {
    return session.expiresAt - this.#env.now() > this.#leewayMs(session);
  }

  /** `POST /auth/refresh`, and what follows from its answer. */
  async #rotate(refreshToken: string | null): Promise<StoredSession> {
    const sentAt = this.#env.now();
    const response = await this.#refreshRequest(refreshToken);
    if (response.status >= 500) throw await errorFromResponse(response);
    if (!response.ok) {
      // Refused (invalid_grant: revoked, expired, reused; or no cookie): the session is over.
      const refused = await errorFromResponse(response);
      this.#cookieRefused = this.#mode === "cookie";
      this.#end("refresh_refused", true);
      throw new AuthClientError("logged_out", `The session ended: ${refused.message}`, response.status);
    }
    const session = await this.#sessionFrom(response, sentAt);
    this.#store.write(session);
    this.#knownSessionId = session.sessionId;
    this.#cookieRefused = false;
    if (this.#mode === "cookie") this.#sync?.setRotationStamp(session.expiresAt);
    this.#announce("refresh", session);
    return session;
  }

  /**
   * Sends the refresh, and sends it again with the same refresh token while the network fails or
   * the gateway answers 5xx, for up to `refreshRetrySeconds`. A lost answer does not mean the
   * gateway did not rotate: the same token again within its grace window gets the same successor
   * (refresh rule 4), so the user stays logged in.
   */
  async #refreshRequest(refreshToken: string | null): Promise<Response> {
    const deadline = this.#env.now() + (this.#options.refreshRetrySeconds ?? 8) * 1000;
    for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
      let response: Response | null = null;
      try {
        response = await this.#send("/auth/refresh", refreshToken === null ? undefined : { refresh_token: refreshToken });
      } catch (error) {
        if (!(error instanceof AuthClientError) || error.code !== "network_error") throw error;
        if (this.#env.now() + delay > deadline) throw error;
      }
      if (response && (response.status < 500 || this.#env.now() + delay > deadline)) return response;
      await this.#env.sleep(delay);
    }
  }

  async #sessionFrom(response: Response, sentAt: number): Promise<StoredSession> {
    const body = (await response.json().catch(() => null)) as { [field in keyof TokenResponse]?: unknown } | null;
    const ok =
      body !== null &&
      typeof body.access_token === "string" &&
      typeof body.token_type === "string" &&
      typeof body.expires_in === "number" &&
      typeof body.session_id === "string" &&
      (this.#mode === "cookie" || typeof body.refresh_token === "string");
    if (!ok) throw new AuthClientError("bad_response", "The gateway's token response is not a TokenResponse.", response.status);
    const token = body as TokenResponse;
    return {
      accessToken: token.access_token,
      tokenType: token.token_type,
      // From when the request left: never later than the gateway's own clock says.
      expiresAt: sentAt + token.expires_in * 1000,
      lifetimeMs: token.expires_in * 1000,
      sessionId: token.session_id,
      // Cookie mode: the body carries it too (for non-browser clients); it is not kept.
      refreshToken: this.#mode === "cookie" ? null : token.refresh_token,
    };
  }

  /** Forgets the session and tells the other tabs; reports it unless this page asked for it. */
  #end(reason: LogoutReason, report: boolean): void {
    const sessionId = this.#store.read()?.sessionId ?? this.#knownSessionId;
    this.#store.clear();
    // A new session, a new key. Failing to delete it only means the next session reuses it.
    this.#dpop?.forget().catch(() => undefined);
    this.#sync?.post({ type: "logout", reason, sessionId });
    this.#ended(reason, report, false);
  }

  #ended(reason: LogoutReason, report: boolean, fromOtherTab: boolean): void {
    if (this.#knownSessionId === null) return;
    this.#knownSessionId = null;
    this.#emit({ type: "logout", reason, fromOtherTab });
    if (report) this.#options.onLoggedOut?.(reason);
  }

  /** No session: if this page thought it had one, another tab ended it. */
  #gone(): AuthClientError {
    this.#ended("logged_out", true, true);
    return loggedOut();
  }

  #announce(event: "login" | "refresh", session: StoredSession): void {
    const shared = this.#mode === "cookie" ? { session } : {};
    this.#sync?.post({ type: "session", event, sessionId: session.sessionId, tokenType: session.tokenType, expiresAt: session.expiresAt, ...shared });
    this.#emit({ type: event, session: info(session), fromOtherTab: false });
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

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#sync ? this.#sync.exclusive(task) : task();
  }

  // --- HTTP ---

  /**
   * A request of the client's own to `/auth/*`: JSON body, a DPoP proof (`signed`: a login,
   * refresh or logout), cookies in cookie mode, network errors as `network_error`.
   */
  async #send(path: string, body?: unknown, signed = true): Promise<Response> {
    const url = new URL(path, this.#origin).href;
    const headers = new Headers(await this.#proofHeaders("POST", url, null, signed));
    if (body !== undefined) headers.set("Content-Type", "application/json");
    // `credentials` is the browser's (Workers' types leave it out): the refresh cookie rides along
    // only in cookie mode, and no other mode lets the gateway set it.
    const init: RequestInit & { credentials: "include" | "omit" } = {
      method: "POST",
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      credentials: this.#mode === "cookie" ? "include" : "omit",
      cache: "no-store",
    };
    const request = new Request(url, init);
    try {
      return await this.#fetch(request);
    } catch (error) {
      // A browser hides from script why a cross-origin request failed: a CORS refusal (the page's
      // origin not in ALLOWED_ORIGINS) and a network down are one TypeError alike.
      const what = this.#crossOrigin ? "The gateway is unreachable or refused by CORS (is this page's origin in ALLOWED_ORIGINS?)" : "The gateway could not be reached";
      throw new AuthClientError("network_error", `${what}: ${(error as Error).message}`);
    }
  }

  async #sendAuthorized(request: Request, session: StoredSession): Promise<Response> {
    const headers = new Headers(request.headers);
    headers.set("Authorization", `${session.tokenType} ${session.accessToken}`);
    // RFC 9449 section 7.1: a bound token goes with a proof for this request and this token.
    const bound = /^dpop$/i.test(session.tokenType);
    for (const [name, value] of Object.entries(await this.#proofHeaders(request.method, request.url, session.accessToken, bound))) headers.set(name, value);
    return this.#fetch(new Request(request, { headers }));
  }

  async #proofHeaders(method: string, url: string, accessToken: string | null, signed: boolean): Promise<Record<string, string>> {
    const target = { method, url, accessToken };
    const headers: Record<string, string> = {};
    if (this.#dpop && signed) headers.DPoP = await createDpopProof(await this.#dpop.key(), target, this.#env.now());
    return { ...headers, ...(await this.#options.proof?.(target)) };
  }
}

function info(session: StoredSession): SessionInfo {
  return { sessionId: session.sessionId, tokenType: session.tokenType, accessTokenExpiresAt: session.expiresAt };
}
