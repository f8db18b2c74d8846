// Reading the gateway's answers: a token response into what the client keeps, and the one 401
// that a refresh can cure.
import { AuthClientError } from "./errors.js";
import type { SessionInfo } from "./options.js";
import type { StorageMode, StoredSession } from "./token-store.js";
import type { TokenResponse } from "../wire/index.js";

// RFC 6750 section 3: the gateway says an access token expired in its WWW-Authenticate.
const EXPIRED = /error="invalid_token"[^]*error_description="[^"]*expired/i;

/** The gateway refused an access token because it expired (a refresh and one retry may cure it). */
export function isExpiredAnswer(response: Response): boolean {
  return response.status === 401 && EXPIRED.test(response.headers.get("WWW-Authenticate") ?? "");
}

/**
 * A `TokenResponse` (login, refresh, and every other way in) as the session the client keeps;
 * `bad_response` when the body is not one. `sentAt` is when the request left, so the access
 * token's expiry is never later here than the gateway's own clock says.
 */
export async function sessionFromTokenResponse(response: Response, sentAt: number, mode: StorageMode): Promise<StoredSession> {
  const body = (await response.json().catch(() => null)) as { [field in keyof TokenResponse]?: unknown } | null;
  const ok =
    body !== null &&
    typeof body.access_token === "string" &&
    typeof body.token_type === "string" &&
    typeof body.expires_in === "number" &&
    typeof body.session_id === "string" &&
    (mode === "cookie" || typeof body.refresh_token === "string");
  if (!ok) throw new AuthClientError("bad_response", "The gateway's token response is not a TokenResponse.", response.status);
  const token = body as TokenResponse;
  return {
    accessToken: token.access_token,
    tokenType: token.token_type,
    expiresAt: sentAt + token.expires_in * 1000,
    lifetimeMs: token.expires_in * 1000,
    sessionId: token.session_id,
    // Cookie mode: the body carries it too (for non-browser clients); it is not kept.
    refreshToken: mode === "cookie" ? null : token.refresh_token,
  };
}

/** What the page may know of a session: no token. */
export function sessionInfo(session: StoredSession): SessionInfo {
  return { sessionId: session.sessionId, tokenType: session.tokenType, accessTokenExpiresAt: session.expiresAt };
}
