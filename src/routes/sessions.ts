import { Hono } from "hono";
import * as z from "zod/mini";
import { accessCredential, authenticate, requireAccessToken } from "../http/authenticate";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, keyRing, type AppContext, type AppEnv } from "../http/context";
import { AuthError, invalidGrant, invalidRequest, notFound } from "../errors/auth-error";
import { dpopRefusal } from "../errors/refusals";
import { logRefusal } from "../errors/verdict";
import { clearRefreshCookie, refreshTokenFromCookie, setsRefreshCookie } from "../http/refresh-cookie";
import { dpopProof } from "../http/dpop";
import { tokenResponse } from "../http/token-response";
import { parseRefreshToken } from "../tokens/refresh";
import { userAuthFor, userAuthOfToken } from "../sessions/lookup";
import type { RefreshOutcome } from "../sessions/rpc";
import type { SessionList } from "../wire";
import { rule } from "../http/validation";
import { sessionListItems } from "../http/session-list";

/** Refresh, logout, revocation and the caller's own sessions: `/auth/refresh`, `/auth/logout*`, `/auth/revoke`, `/auth/sessions*`. */
export const sessionRoutes = new Hono<AppEnv>();

// No length limit: an over-long token is simply not ours (invalid_grant); the body limit bounds it.
const RefreshToken = z.string(rule("must be a single string"));

const refreshBody = bodyOf(
  z.object({
    // RFC 6749 section 6: form requests carry grant_type=refresh_token.
    grant_type: z.optional(z.literal("refresh_token", rule("must be refresh_token"))),
    refresh_token: z.optional(RefreshToken),
  }),
  { form: true },
);

sessionRoutes.post("/refresh", setsRefreshCookie, dpopProof({ issuesTokens: true }), refreshBody, async function refresh(c) {
  return refreshResponse(c, c.req.valid("json").refresh_token);
});

/**
 * The refresh of `POST /auth/refresh`, and of `POST /auth/token` with `grant_type=refresh_token`
 * (the same in every respect): the body's refresh token, or in cookie mode the cookie's, through
 * the refresh rules of the user's object. The route declares `setsRefreshCookie` and `dpopProof`.
 */
export async function refreshResponse(c: AppContext, fromBody: string | undefined) {
  const presented = fromBody ?? refreshTokenFromCookie(c);
  if (!presented) throw invalidRequest("refresh_token is required.");
  // Keys first: a refresh whose new access token cannot be signed must not spend the refresh token.
  keyRing(c);

  const token = parseRefreshToken(presented);
  const stub = token && userAuthOfToken(c.env, token);
  const outcome: RefreshOutcome = stub
    ? await stub.refresh({ token: token!, client: clientInfo(c), proof: c.get("dpop") })
    : { ok: false, rule: 1, reason: "unknown_token" };
  if (!outcome.ok) {
    // One line per refused refresh, so an operator can tell a forged token from a reused one;
    // the client sees one `invalid_grant` either way. Never the token itself.
    logRefusal("refresh", outcome.reason, { rule: outcome.rule, session_id: token?.sessionId ?? null });
    if (outcome.reason === "dpop_replay") throw dpopRefusal("replayed");
    clearRefreshCookie(c);
    throw invalidGrant();
  }
  return tokenResponse(c, outcome.session);
}

const logoutBody = bodyOf(z.object({ refresh_token: z.optional(RefreshToken) }));

sessionRoutes.post("/logout", setsRefreshCookie, dpopProof({ issuesTokens: false }), logoutBody, async function logout(c) {
  const body = c.req.valid("json");
  const client = clientInfo(c);
  const presented = body.refresh_token ?? (accessCredential(c) === null ? refreshTokenFromCookie(c) : null);

  if (presented !== null) {
    const token = parseRefreshToken(presented);
    const stub = token && userAuthOfToken(c.env, token);
    if (token && stub && (await stub.logoutWithRefreshToken({ token, client }))) {
      clearRefreshCookie(c);
      return c.body(null, 204);
    }
    if (accessCredential(c) === null) {
      throw new AuthError("invalid_token", 401, "The refresh token is not one this gateway issued.");
    }
  }
  // No refresh token (or one we did not issue) but an access token: log out its session.
  const claims = await authenticate(c, { allowExpired: true });
  await userAuthFor(c.env, claims.sub).revokeSession({ sessionId: claims.sid, event: "logout", client });
  clearRefreshCookie(c);
  return c.body(null, 204);
});

const revokeBody = bodyOf(
  z.object({
    token: z.optional(z.string(rule("must be a single string"))),
    token_type_hint: z.optional(z.string(rule("must be a single string"))),
  }),
  { form: true },
);

/**
 * RFC 7009: a refresh token of any generation ends its session like a logout (no reuse
 * handling). The answer is 200 whatever the token, so it tells nothing about which tokens exist
 * (section 2.2); access tokens are not revocable here and simply expire.
 */
sessionRoutes.post("/revoke", revokeBody, async function revoke(c) {
  const { token } = c.req.valid("json");
  // RFC 7009 section 2.2.1: a request without the token is invalid_request.
  if (!token) throw invalidRequest("token is required.");
  const parsed = parseRefreshToken(token);
  const stub = parsed && userAuthOfToken(c.env, parsed);
  if (parsed && stub) await stub.logoutWithRefreshToken({ token: parsed, client: clientInfo(c) });
  c.header("Cache-Control", "no-store");
  return c.body(null, 200);
});

sessionRoutes.post("/logout-all", setsRefreshCookie, bodyWithoutFields, requireAccessToken, async function logoutAll(c) {
  const claims = c.get("auth");
  await userAuthFor(c.env, claims.sub).revokeAllSessions({
    event: "logout_all",
    sub: claims.sub,
    currentSessionId: claims.sid,
    client: clientInfo(c),
  });
  clearRefreshCookie(c);
  return c.body(null, 204);
});

sessionRoutes.get("/sessions", requireAccessToken, async function listSessions(c) {
  const claims = c.get("auth");
  // From the user's own Durable Object, not D1: a user always sees their own writes, and the
  // listing keeps working while D1 is away.
  const sessions = await userAuthFor(c.env, claims.sub).listSessions();
  c.header("Cache-Control", "no-store");
  return c.json({ sessions: sessionListItems(sessions, claims.sid) } satisfies SessionList);
});

sessionRoutes.delete("/sessions/:id", bodyWithoutFields, requireAccessToken, async function revokeOwnSession(c) {
  const claims = c.get("auth");
  const revoked = await userAuthFor(c.env, claims.sub).revokeSession({
    sessionId: c.req.param("id"),
    event: "session_revoked",
    client: clientInfo(c),
  });
  if (!revoked) throw notFound("No active session of yours has that id.");
  return c.body(null, 204);
});
