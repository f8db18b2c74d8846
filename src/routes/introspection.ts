import { Hono } from "hono";
import * as z from "zod/mini";
import { requireIntrospectionToken } from "../http/admin-token";
import { bodyOf } from "../http/body";
import { keyRing, type AppEnv } from "../http/context";
import { rule } from "../http/validation";
import { logRefusal } from "../errors/verdict";
import { userAuthFor } from "../sessions/lookup";
import { verifyAccessToken } from "../tokens/access";
import type { IntrospectionResponse } from "../wire";

/**
 * `POST /auth/introspect` (RFC 7662), for an origin that must not wait out an access token's
 * lifetime after a revocation: the token is verified as the gateway verifies it, then its session
 * is looked up in the user's Durable Object, so `active` is false from the moment the session is
 * revoked. Behind `INTROSPECTION_TOKEN` or the admin token.
 */
export const introspectionRoutes = new Hono<AppEnv>();

// RFC 7662 section 2.1: a form with `token` and an optional `token_type_hint`, which the RFC lets
// a server ignore (only access tokens are introspected here: a refresh token is simply not active).
const introspectBody = bodyOf(
  z.object({
    token: z.string(rule("is required: the access token, as a single string")),
    token_type_hint: z.optional(z.string(rule("must be a single string"))),
  }),
  { form: true },
);

// RFC 7662 section 2.2: an inactive token gets this and nothing else, whatever made it inactive,
// so the answer tells a caller nothing about tokens it does not hold.
const INACTIVE: IntrospectionResponse = { active: false };

// Body first, then the caller's token: the order every route checks in (docs/api.md, Conventions).
introspectionRoutes.post("/introspect", introspectBody, requireIntrospectionToken, async function introspect(c) {
  const { token } = c.req.valid("json");
  // RFC 7662 section 4: the answer is about a live credential and must not be cached.
  c.header("Cache-Control", "no-store");
  const verified = await verifyAccessToken(token, keyRing(c), c.get("config"), Date.now() / 1000);
  if (!verified.ok) {
    logRefusal("introspected_token", verified.reason, verified.expiredClaims ? { session_id: verified.expiredClaims.sid } : {});
    return c.json(INACTIVE);
  }
  const { claims } = verified;
  // One RPC: the session's state in the user's object right now, not what D1 last heard.
  if (!(await userAuthFor(c.env, claims.sub).isSessionActive(claims.sid))) {
    logRefusal("introspected_token", "session_not_active", { session_id: claims.sid });
    return c.json(INACTIVE);
  }
  return c.json({
    active: true,
    sub: claims.sub,
    sid: claims.sid,
    exp: claims.exp,
    iat: claims.iat,
    ...(claims.amr === undefined ? {} : { amr: claims.amr }),
    ...(claims.auth_time === undefined ? {} : { auth_time: claims.auth_time }),
    // RFC 9449 section 6.2: a DPoP-bound token says so, with the thumbprint of its key.
    token_type: claims.cnf ? "DPoP" : "Bearer",
    ...(claims.cnf ? { cnf: { jkt: claims.cnf.jkt } } : {}),
  } satisfies IntrospectionResponse);
});
