import { clientInfo, keyRing, type AppContext } from "./context";
import { setRefreshCookie } from "./refresh-cookie";
import { signAccessToken } from "../tokens/access";
import type { IssuedSession } from "../sessions/rpc";
import { signIn, type SignIn, type SignInMethod } from "../sessions/sign-in";
import type { TokenResponse } from "../wire";
import { claimsToSign } from "./session-claims";

/**
 * Answers with the contract's `TokenResponse` for a session the UserAuth object just opened or
 * refreshed: signs a fresh access token, marks the response `no-store` (RFC 6749 section 5.1) and,
 * in cookie mode, sets the refresh cookie for a browser. The admin route answers a back end, which
 * gets no cookie (`cookie: false`). A DPoP-bound session's access token carries `cnf.jkt` and is
 * of `token_type` DPoP (RFC 9449 section 5); every access token carries the session's `amr` and
 * `auth_time`, and its custom claims, asked of the claims hook first when the session's call to it
 * is due (`claimsToSign`): every way in and every refresh answers here.
 */
export async function tokenResponse(c: AppContext, issued: IssuedSession, { status = 200 as 200 | 201, cookie = true } = {}) {
  const config = c.get("config");
  const claims = await claimsToSign(c, issued);
  const session = { sub: issued.sub, sid: issued.sessionId, claims, jkt: issued.jkt, amr: issued.amr, authTime: issued.authTime };
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

/** How each way in answers: the admin route's caller is a back end (201, never the cookie); a client gets 200 and, in cookie mode, the cookie. */
const SIGN_IN_ANSWERS: Record<SignInMethod, { status: 200 | 201; cookie: boolean }> = {
  password: { status: 200, cookie: true },
  passkey: { status: 200, cookie: true },
  admin: { status: 201, cookie: false },
  oidc: { status: 200, cookie: true },
  totp: { status: 200, cookie: true },
  recovery_code: { status: 200, cookie: true },
};

/**
 * The answer of every way in, once it has checked the user's proof: the session opens in the
 * user's Durable Object (`signIn`, src/sessions/sign-in.ts), bound to the request's DPoP proof if
 * it carried one, and the `TokenResponse` goes back. Keys first: a session whose tokens cannot be
 * signed must not be opened.
 */
export async function signInResponse(c: AppContext, request: SignIn) {
  keyRing(c);
  const issued = await signIn(c.env, request, { client: clientInfo(c), proof: c.get("dpop") });
  return tokenResponse(c, issued, SIGN_IN_ANSWERS[request.method]);
}
