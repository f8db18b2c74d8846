/**
 * The browser client of edge-auth-gateway: `import { createAuthClient } from "edge-auth-gateway/client"`.
 * No dependencies; runs wherever `fetch` does, and shares one refresh across tabs where Web Locks
 * and BroadcastChannel exist.
 */
import { AuthClient } from "./auth-client.js";
import type { AuthClientOptions } from "./options.js";

export { AuthClient } from "./auth-client.js";
export type { AuthClientOptions, AuthEvent, ClientEnvironment, CredentialsLike, LoginResult, ProofHook, SessionInfo, SessionRecord, TotpEnrolment } from "./options.js";
export type { AddedPasskey, PasskeyListItem } from "../wire/index.js";
export { AuthClientError, type AuthClientErrorCode } from "./errors.js";
export type { DpopKey } from "./dpop.js";
export type { SignInApp } from "./methods/federation.js";
export type { IndexedDbLike } from "./dpop-key-store.js";
export type { ChannelLike, LockManagerLike, LogoutReason } from "./tab-sync.js";
export type { StorageLike, StorageMode } from "./token-store.js";

/**
 * Creates the client; one per gateway per page.
 *
 * @example
 * import { createAuthClient } from "edge-auth-gateway/client";
 *
 * const auth = createAuthClient({
 *   baseUrl: "https://auth.example.com",
 *   storage: "localStorage",
 *   onLoggedOut: () => location.assign("/login"),
 * });
 * await auth.login(username, password);
 * const response = await auth.fetch("/api/orders"); // the access token attached, refreshed when due
 */
export function createAuthClient(options: AuthClientOptions): AuthClient {
  return new AuthClient(options);
}
