import { keyRing, type AppContext } from "./context";
import { setRefreshCookie } from "./refresh-cookie";
import { signAccessToken } from "../tokens/access";
import type { IssuedSession } from "../sessions/rpc";
import type { TokenResponse } from "../wire";

/**
 * Answers with the contract's `TokenResponse` for a session the UserAuth object just opened or
 * refreshed: signs a fresh access token, marks the response `no-store` (RFC 6749 section 5.1) and,
 * in cookie mode, sets the refresh cookie for a browser. The admin route answers a back end, which
 * gets no cookie (`cookie: false`). A DPoP-bound session's access token carries `cnf.jkt` and is
 * of `token_type` DPoP (RFC 9449 section 5).
 */
export async function tokenResponse(c: AppContext, issued: IssuedSession, { status = 200 as 200 | 201, cookie = true } = {}) {
  const config = c.get("config");
  const session = { sub: issued.sub, sid: issued.sessionId, claims: issued.claims, jkt: issued.jkt };
  const accessToken = await signAccessToken(keyRing(c), config, session, Date.now() / 1000);
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
  if (cookie) setRefreshCookie(c, issued.refreshToken);
  return c.json(
    {
      access_token: accessToken,
      token_type: issued.jkt ? "DPoP" : "Bearer",
      expires_in: config.accessTokenTtlSeconds,
      refresh_token: issued.refreshToken,
      session_id: issued.sessionId,
    } satisfies TokenResponse,
    status,
  );
}
