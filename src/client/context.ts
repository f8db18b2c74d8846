import type { ClientEnvironment } from "./options.js";
import type { RefreshCoordinator } from "./refresh-coordinator.js";
import type { SessionState } from "./session-state.js";
import type { StorageMode } from "./token-store.js";
import type { Transport } from "./transport.js";

/**
 * What a group of the client's methods (a file of `src/client/methods/`, one way in or one part
 * of the account) works with. A group is plain functions taking this first; `AuthClient` gives
 * each public method one line that calls its function.
 *
 * - `transport.post(path, body)` for the client's own calls to `/auth/*`, and `fetch` for calls
 *   that need the access token (refreshed first when due);
 * - `state.accept(response, sentAt, "login")` for every token response that opens a session,
 *   whatever the way in, and `state.end(...)` for every way out.
 */
export interface ClientContext {
  readonly mode: StorageMode;
  readonly env: ClientEnvironment;
  readonly transport: Transport;
  readonly state: SessionState;
  readonly refresher: RefreshCoordinator;
  /** The `mfa_token` of a login waiting for its code (src/client/methods/mfa.ts); this page only. */
  readonly pendingMfa: { token: string | null };
  /** `AuthClient.fetch`: an API call on the gateway's origin with the access token. */
  fetch(input: string, init?: RequestInit): Promise<Response>;
}
