// The client's options and the types it hands out, and the browser APIs it uses unless told otherwise.
import type { IndexedDbLike } from "./dpop-key-store.js";
import type { ChannelLike, LockManagerLike, LogoutReason } from "./tab-sync.js";
import type { StorageLike, StorageMode } from "./token-store.js";
import type { SessionListItem } from "../wire/index.js";

/**
 * Returns headers to add to a request the client is about to send (API calls, with their access
 * token, and refreshes, logins and logouts, without), after the client's own DPoP proof when
 * `dpop` is on. Called once per request actually sent, retries included.
 */
export type ProofHook = (request: { method: string; url: string; accessToken: string | null }) => Record<string, string> | Promise<Record<string, string>>;

/** `navigator.credentials`, as far as passkeys use it (the tests pass a software authenticator). */
export interface CredentialsLike {
  create(options: { publicKey: unknown }): Promise<unknown>;
  get(options: { publicKey: unknown; mediation?: string }): Promise<unknown>;
}

/** The browser APIs the client uses; every one can be replaced (tests, runtimes without them). */
export interface ClientEnvironment {
  localStorage: StorageLike | undefined;
  /** Where a sign-in through a provider keeps its PKCE verifier until the redirect comes back (this tab only). */
  sessionStorage: StorageLike | undefined;
  locks: LockManagerLike | undefined;
  BroadcastChannel: (new (name: string) => ChannelLike) | undefined;
  /** Where `dpop` keeps its key in `localStorage` and `cookie` modes. */
  indexedDB: IndexedDbLike | undefined;
  /** `navigator.credentials`, for passkeys (WebAuthn); undefined where there is none. */
  credentials: CredentialsLike | undefined;
  /** Milliseconds since the epoch. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface AuthClientOptions {
  /**
   * Where the refresh token lives: `"memory"` (this page only, gone on reload), `"localStorage"`
   * (shared by the origin's tabs, kept across reloads, readable by any script on the origin), or
   * `"cookie"` (the gateway's `HttpOnly` `__Host-refresh_token` cookie, `REFRESH_COOKIE=true`: the
   * client holds no refresh token and keeps the access token in memory).
   */
  storage: StorageMode;
  /** The gateway, e.g. `https://auth.example.com`; default: the page's origin. */
  baseUrl?: string;
  /**
   * The `localStorage` key, the name of the lock and channel tabs share, and of the IndexedDB
   * database that holds the DPoP key. Default `edge-auth`.
   */
  storageKey?: string;
  /** Refresh when less than this is left of the access token (at most half its lifetime). Default 30. */
  refreshBeforeExpirySeconds?: number;
  /**
   * How long a refresh whose answer was lost is retried with the same refresh token. Keep it below
   * the gateway's `REFRESH_REUSE_GRACE_SECONDS` (10 by default), within which the same token gets the
   * same successor back. Default 8.
   */
  refreshRetrySeconds?: number;
  /**
   * Called once when the session ends other than by this page's own `logout()`, `logoutAll()` or
   * `revokeSession()` of the current session: a refresh was refused (`"refresh_refused"`: revoked,
   * expired, or reuse detected), here or in another tab, or another tab logged out (`"logged_out"`).
   */
  onLoggedOut?: (reason: LogoutReason) => void;
  /**
   * Sender-constrained tokens (DPoP, RFC 9449): the client makes an ES256 key pair on first use,
   * its private key not extractable, and signs a proof with it for every login, refresh and
   * logout, and for every API call with a bound access token (sent as `Authorization: DPoP`). A
   * copied refresh or access token is then useless without the key. The key lives in IndexedDB
   * (`localStorage` and `cookie` modes: kept across reloads, shared by the origin's tabs) or in the
   * page (memory mode), and is deleted when the session ends here (logout, a refused refresh): a
   * new session, a new key. Needs WebCrypto, so a secure context (HTTPS or localhost). Default false.
   */
  dpop?: boolean;
  proof?: ProofHook;
  /** `fetch` to send requests with. Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  environment?: Partial<ClientEnvironment>;
}

/** What the page may know of the session: no token. */
export interface SessionInfo {
  sessionId: string;
  /** `token_type` of the session's tokens: `DPoP` when bound to the client's key, else `Bearer`. */
  tokenType: string;
  /** When the current access token expires, in milliseconds since the epoch (this machine's clock). */
  accessTokenExpiresAt: number;
}

/**
 * What `login()` resolves to: the session it opened, or, for a user with TOTP on whose password
 * was right, a login that waits for `verifyMfa(code)`.
 */
export type LoginResult = (SessionInfo & { mfaRequired: false }) | { mfaRequired: true };

/** `enrollTotp()`: the pending secret (base32, to type in) and the `otpauth://` URI (to show as a QR code). */
export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
}

export type AuthEvent =
  | { type: "login" | "refresh"; session: SessionInfo; fromOtherTab: boolean }
  | { type: "logout"; reason: LogoutReason; fromOtherTab: boolean };

/** One entry of `GET /auth/sessions`, as the gateway sends it. */
export type SessionRecord = SessionListItem;

/** The real browser APIs, where they exist. */
export function browserEnvironment(): ClientEnvironment {
  const scope = globalThis as unknown as {
    localStorage?: StorageLike;
    sessionStorage?: StorageLike;
    navigator?: { locks?: LockManagerLike; credentials?: CredentialsLike };
    BroadcastChannel?: new (name: string) => ChannelLike;
    indexedDB?: IndexedDbLike;
  };
  let localStorage: StorageLike | undefined;
  let sessionStorage: StorageLike | undefined;
  let indexedDB: IndexedDbLike | undefined;
  try {
    indexedDB = scope.indexedDB;
    localStorage = scope.localStorage;
    sessionStorage = scope.sessionStorage;
  } catch {
    // A sandboxed frame or blocked storage throws on access.
  }
  return {
    localStorage,
    sessionStorage,
    locks: scope.navigator?.locks,
    BroadcastChannel: scope.BroadcastChannel,
    indexedDB,
    credentials: scope.navigator?.credentials,
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
