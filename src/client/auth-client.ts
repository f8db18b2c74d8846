import type { ClientContext } from "./context.js";
import type { DpopKey } from "./dpop.js";
import { DpopKeyStore } from "./dpop-key-store.js";
import { AuthClientError } from "./errors.js";
import * as accountMethods from "./methods/account.js";
import * as federationMethods from "./methods/federation.js";
import type { SignInApp } from "./methods/federation.js";
import * as mfaMethods from "./methods/mfa.js";
import * as passkeyMethods from "./methods/passkeys.js";
import * as passwordMethods from "./methods/password.js";
import * as sessionMethods from "./methods/sessions.js";
import { browserEnvironment, type AuthClientOptions, type AuthEvent, type LoginResult, type SessionInfo, type SessionRecord, type TotpEnrolment } from "./options.js";
import { RefreshCoordinator } from "./refresh-coordinator.js";
import { isExpiredAnswer, sessionInfo } from "./responses.js";
import { SessionState } from "./session-state.js";
import { Transport } from "./transport.js";
import type { AccountResponse, AddedPasskey, PasskeyListItem } from "../wire/index.js";

/**
 * A client of the gateway for browser apps, used instead of `fetch` for API calls: it attaches the
 * access token, refreshes it shortly before it expires when a request is about to be sent (no
 * timer runs in the background) and once more when the gateway answers 401 "expired", with one
 * refresh for however many requests need it and for all tabs of the origin.
 *
 * The methods are one line each: a group of them is a file of `src/client/methods/`, working
 * with the `ClientContext` this class builds (src/client/context.ts).
 *
 * @example
 * const auth = new AuthClient({ storage: "localStorage", onLoggedOut: () => showLogin() });
 * await auth.login("bob", "correct horse battery");
 * const orders = await (await auth.fetch("/api/orders")).json();
 */
export class AuthClient {
  readonly #origin: string;
  /** DPoP mode: where the key is; null otherwise. */
  readonly #dpop: DpopKeyStore | null = null;
  readonly #client: ClientContext;

  constructor(options: AuthClientOptions) {
    if (!["memory", "localStorage", "cookie"].includes(options.storage)) {
      throw new TypeError('storage must be "memory", "localStorage" or "cookie".');
    }
    const mode = options.storage;
    const env = { ...browserEnvironment(), ...options.environment };
    const page = (globalThis as { location?: { href: string } }).location?.href;
    const base = options.baseUrl ?? page;
    if (base === undefined) throw new TypeError("baseUrl is required outside a page.");
    const origin = (this.#origin = new URL(base).origin);
    const key = options.storageKey ?? "edge-auth";
    if (options.dpop) {
      // A key that lived only in the page would be lost on reload, and the session with it.
      if (mode !== "memory" && !env.indexedDB) throw new TypeError("dpop needs IndexedDB to keep its key (or pass environment.indexedDB).");
      this.#dpop = new DpopKeyStore(mode === "memory" ? undefined : env.indexedDB, key);
    }
    const transport = new Transport(options, env, origin, page !== undefined && new URL(page).origin !== origin, this.#dpop);
    const state = new SessionState(options, env, key, this.#dpop);
    const refresher = new RefreshCoordinator(state, transport, options, env);
    this.#client = { mode, env, transport, state, refresher, pendingMfa: { token: null }, fetch: (input, init) => this.fetch(input, init) };
  }

  /** The current session, or null; in cookie mode null until `restore()` or a first call after a reload. */
  get session(): SessionInfo | null {
    const session = this.#client.state.read();
    return session && sessionInfo(session);
  }

  /** `POST /auth/register`, with an optional e-mail address; does not log in. `breached`: the password is in a known breach (`PWNED_PASSWORDS=warn`). */
  register(username: string, password: string, options: { email?: string } = {}): Promise<{ userId: string; breached: boolean }> {
    return passwordMethods.register(this.#client, username, password, options);
  }

  /** `GET /auth/account`: who the user is, their address, second factors, passkeys and linked identities. */
  account(): Promise<AccountResponse> {
    return accountMethods.account(this.#client);
  }

  /** `POST /auth/email/verification`: a 6-digit code goes to the account's address (10 minutes, 5 tries). */
  requestEmailVerification(): Promise<void> {
    return accountMethods.requestEmailVerification(this.#client);
  }

  /** `POST /auth/email/verify` with the code the user received. */
  verifyEmail(code: string): Promise<void> {
    return accountMethods.verifyEmail(this.#client, code);
  }

  /** `POST /auth/password/forgot`: a reset link goes to the account's verified address, if it has one; no session needed. */
  forgotPassword(who: { username: string } | { email: string }): Promise<void> {
    return accountMethods.forgotPassword(this.#client, who);
  }

  /** `POST /auth/password/reset` with the reset link's token (and `code`, the TOTP code, when the account has one). */
  resetPassword(token: string, password: string, code?: string): Promise<void> {
    return accountMethods.resetPassword(this.#client, token, password, code);
  }

  /** `POST /auth/password`: every other session of the user ends; this one stays. */
  changePassword(currentPassword: string, newPassword: string): Promise<void> {
    return accountMethods.changePassword(this.#client, currentPassword, newPassword);
  }

  /** `DELETE /auth/account`: everything of the user is deleted and this session forgotten. */
  deleteAccount(password?: string): Promise<void> {
    return accountMethods.deleteAccount(this.#client, password);
  }

  /**
   * `POST /auth/login`: opens a session and keeps it where `storage` says (`mfaRequired: false`),
   * or, for a user with TOTP on, resolves to `{ mfaRequired: true }`: ask for a code, then
   * `verifyMfa(code)`.
   *
   * @example
   * const result = await auth.login(username, password);
   * if (result.mfaRequired) await auth.verifyMfa(prompt("Code from your authenticator app") ?? "");
   */
  login(username: string, password: string): Promise<LoginResult> {
    return passwordMethods.login(this.#client, username, password);
  }

  /** `POST /auth/mfa/verify`: the second step of a login that answered `mfaRequired`, with a TOTP or recovery code. */
  verifyMfa(code: string): Promise<SessionInfo> {
    return mfaMethods.verifyMfa(this.#client, code);
  }

  /** `POST /auth/mfa/totp`: a pending TOTP secret and its `otpauth://` URI; `confirmTotp` turns it on. */
  enrollTotp(): Promise<TotpEnrolment> {
    return mfaMethods.enrollTotp(this.#client);
  }

  /** `POST /auth/mfa/totp/confirm`: TOTP on; resolves to the ten recovery codes (shown once). */
  confirmTotp(code: string): Promise<string[]> {
    return mfaMethods.confirmTotp(this.#client, code);
  }

  /** `DELETE /auth/mfa/totp` with a TOTP or recovery code: TOTP off. */
  disableTotp(code: string): Promise<void> {
    return mfaMethods.disableTotp(this.#client, code);
  }

  /** `POST /auth/mfa/recovery-codes` with a TOTP code: ten new recovery codes, the old ones dead. */
  regenerateRecoveryCodes(code: string): Promise<string[]> {
    return mfaMethods.regenerateRecoveryCodes(this.#client, code);
  }

  /**
   * Signs in with a passkey, no username asked: the browser's passkey dialog, then
   * `POST /auth/passkeys/login`. Rejects with `passkey_cancelled` when the user closes the dialog,
   * `invalid_credentials` when the gateway refuses the passkey.
   */
  loginWithPasskey(): Promise<SessionInfo> {
    return passkeyMethods.loginWithPasskey(this.#client);
  }

  /** Adds a passkey to the signed-in user's account (the browser's dialog); `name` is shown in the list. */
  registerPasskey(name?: string): Promise<AddedPasskey> {
    return passkeyMethods.registerPasskey(this.#client, name);
  }

  /** `GET /auth/passkeys`: the user's passkeys. */
  passkeys(): Promise<PasskeyListItem[]> {
    return passkeyMethods.listPasskeys(this.#client);
  }

  /** `DELETE /auth/passkeys/:id`. */
  deletePasskey(id: string): Promise<void> {
    return passkeyMethods.deletePasskey(this.#client, id);
  }

  /**
   * The URL to send the browser to for signing in through an upstream provider (the gateway's
   * `/auth/authorize`, PKCE and `state` kept in this tab); without `provider`, the gateway's page
   * of providers. The browser comes back to `app.redirectUri`, where `completeSignIn` finishes.
   */
  signInUrl(app: SignInApp, provider: string | null = null): Promise<string> {
    return federationMethods.signInUrl(this.#client, app, provider);
  }

  /** On the redirect URI's page: turns the gateway's answer in `url` into a session (null when `url` carries none). */
  completeSignIn(url: string): Promise<SessionInfo | null> {
    return federationMethods.completeSignIn(this.#client, url);
  }

  /** `POST /auth/identities`: a one-time URL whose trip through `provider` links its identity to this user. */
  linkIdentityUrl(provider: string): Promise<string> {
    return federationMethods.linkIdentityUrl(this.#client, provider);
  }

  /** `DELETE /auth/identities/:provider`. */
  unlinkIdentity(provider: string): Promise<void> {
    return federationMethods.unlinkIdentity(this.#client, provider);
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
    const { refresher, transport } = this.#client;
    const session = await refresher.usable();
    const response = await transport.authorized(request, session);
    if (!isExpiredAnswer(response)) return response;
    // Expired before the client expected it (a clock that is off, a tab that slept): refresh, retry once.
    return transport.authorized(replay, await refresher.refresh(session.accessToken));
  }

  /** A valid access token, refreshed first if it is about to expire (for WebSockets, other clients). */
  async getAccessToken(): Promise<string> {
    return (await this.#client.refresher.usable()).accessToken;
  }

  /** Refreshes now, whatever the access token's age (one refresh however many ask). */
  async refresh(): Promise<SessionInfo> {
    const { state, refresher, mode } = this.#client;
    const current = state.read();
    if (!current && mode !== "cookie") throw state.gone();
    return sessionInfo(await refresher.refresh(current?.accessToken ?? null));
  }

  /**
   * Cookie mode: after a reload or in a new tab, the session is in the cookie only; this gets an
   * access token for it (null when there is none). Other modes: the stored session, if any.
   */
  async restore(): Promise<SessionInfo | null> {
    if (this.#client.mode !== "cookie" || this.#client.state.read()) return this.session;
    try {
      return sessionInfo(await this.#client.refresher.refresh(null));
    } catch (error) {
      if (error instanceof AuthClientError && error.code === "logged_out") return null;
      throw error;
    }
  }

  /**
   * `POST /auth/logout`: ends this session on the gateway and forgets it here and in the other
   * tabs. Forgotten here even when the gateway cannot be reached (the error is thrown after).
   */
  logout(): Promise<void> {
    return sessionMethods.logout(this.#client);
  }

  /** `POST /auth/logout-all`: ends every session of the user, this one included. */
  logoutAll(): Promise<void> {
    return sessionMethods.logoutAll(this.#client);
  }

  /** `GET /auth/sessions`: the user's active sessions; `current` marks this one. */
  sessions(): Promise<SessionRecord[]> {
    return sessionMethods.listSessions(this.#client);
  }

  /** `DELETE /auth/sessions/:id`: ends one of the user's sessions ("sign out my phone"). */
  revokeSession(sessionId: string): Promise<void> {
    return sessionMethods.revokeSession(this.#client, sessionId);
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
    return this.#client.state.subscribe(listener);
  }

  /** Stops listening to the other tabs. */
  close(): void {
    this.#client.state.sync?.close();
  }
}
