import { Hono } from "hono";
import * as z from "zod/mini";
import { bodyOf } from "../http/body";
import { clientInfo, keyRing, type AppContext, type AppEnv } from "../http/context";
import { dpopProof } from "../http/dpop";
import { setsRefreshCookie } from "../http/refresh-cookie";
import { tokenResponse } from "../http/token-response";
import { rule } from "../http/validation";
import { AuthError, invalidRequest } from "../errors/auth-error";
import { logRefusal } from "../errors/verdict";
import { clientById } from "../federation/clients";
import { userAuthOfToken, withTarget } from "../sessions/lookup";
import { parseOneTimeSecret, s256Challenge } from "../tokens/one-time-secrets";
import { refreshResponse } from "./sessions";

/**
 * `POST /auth/token` (RFC 6749 section 3.2), the token endpoint of the team's own apps: the
 * authorization code grant with PKCE (section 4.1.3, RFC 7636), which opens the session, and the
 * refresh token grant, which is `POST /auth/refresh` in every respect. Public clients: the
 * client authenticates by its PKCE verifier, not a secret. Like login, the request that opens a
 * session binds it to its DPoP proof, and in cookie mode the answer sets the refresh cookie.
 */
export const tokenRoutes = new Hono<AppEnv>();

const Single = z.optional(z.string(rule("must be sent once, as a string")));

const tokenBody = bodyOf(
  z.object({
    grant_type: Single,
    code: Single,
    redirect_uri: Single,
    client_id: Single,
    code_verifier: Single,
    refresh_token: Single,
  }),
  { form: true },
);

// RFC 7636 section 4.1: 43 to 128 unreserved characters.
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

tokenRoutes.post("/token", setsRefreshCookie, dpopProof({ issuesTokens: true }), tokenBody, async function token(c) {
  const body = c.req.valid("json");
  if (!body.grant_type) throw invalidRequest("grant_type is required.");
  if (body.grant_type === "refresh_token") return refreshResponse(c, body.refresh_token);
  if (body.grant_type !== "authorization_code") {
    throw new AuthError("unsupported_grant_type", 400, "grant_type must be authorization_code or refresh_token.");
  }
  return exchangeCode(c, body);
});

/** The code grant: the client, then the request's shape, then the code in the user's object. */
async function exchangeCode(c: AppContext, body: { code?: string; redirect_uri?: string; client_id?: string; code_verifier?: string }) {
  if (!body.client_id) throw invalidRequest("client_id is required.");
  // RFC 6749 section 5.2; 400 rather than 401, as the client sent no credentials to challenge.
  if (!clientById(c.get("config"), body.client_id)) throw new AuthError("invalid_client", 400, "client_id is not a registered client.");
  if (!body.code) throw invalidRequest("code is required.");
  if (!body.redirect_uri) throw invalidRequest("redirect_uri is required.");
  if (!body.code_verifier) throw invalidRequest("code_verifier is required (PKCE, RFC 7636).");
  if (!CODE_VERIFIER.test(body.code_verifier)) throw invalidRequest("code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~.");
  // Keys first: a code whose session's access token cannot be signed must not be spent.
  keyRing(c);

  const code = await parseOneTimeSecret("ac1", body.code);
  const stub = code && userAuthOfToken(c.env, code);
  if (!code || !stub) return refuse("unknown_code", null);
  const exchange = {
    hash: code.hash,
    presented: { clientId: body.client_id, redirectUri: body.redirect_uri, challenge: await s256Challenge(body.code_verifier) },
    client: clientInfo(c),
    proof: c.get("dpop"),
  };
  const outcome = await withTarget(stub.federation(), (federation) => federation.exchangeCode(exchange));
  if (!outcome.ok) return refuse(outcome.reason, outcome.revokedSessionId);
  return tokenResponse(c, outcome.session);
}

/** One `invalid_grant` for every unusable code (RFC 6749 section 5.2); the reason goes to the log only. */
function refuse(reason: string, revokedSessionId: string | null): never {
  logRefusal("authorization_code", reason, { revoked_session_id: revokedSessionId });
  throw new AuthError(
    "invalid_grant",
    400,
    "The authorization code is invalid, expired or already used, or was issued to another client or redirect URI, or the code_verifier does not match.",
  );
}
