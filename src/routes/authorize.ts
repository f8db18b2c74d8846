import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { keyRing, type AppContext, type AppEnv } from "../http/context";
import { invalidRequest, misconfigured } from "../errors/auth-error";
import { callbackAnswer, type CallbackRefusal } from "../errors/refusals";
import { logRefusal } from "../errors/verdict";
import type { UpstreamProvider } from "../config/federation";
import { decideAuthorize } from "../federation/authorize-request";
import { CHOOSER_HEADERS, chooserPage } from "../federation/chooser-page";
import { callbackUrl, linkReturnUrl, providerById, withParameters } from "../federation/clients";
import { beginUpstream } from "../federation/relying-party";
import { sealTransaction, TRANSACTION_COOKIE, TRANSACTION_TTL_SECONDS, type TransactionPurpose } from "../federation/transaction";
import { userAuthOfToken, withTarget } from "../sessions/lookup";
import { parseOneTimeSecret } from "../tokens/one-time-secrets";

/**
 * `GET /auth/authorize` (RFC 6749 section 4.1.1): where the team's apps send a user to sign in.
 * With `provider`, the browser goes on to that upstream provider's authorization endpoint, with
 * the sign-in's transaction sealed in its cookie (src/federation/transaction.ts); without, a page
 * offers each configured provider. With `link=<ticket>` (the `authorize_url` of
 * `POST /auth/identities`), the same trip links the provider's identity to the ticket's user.
 */
export const authorizeRoutes = new Hono<AppEnv>();

authorizeRoutes.get("/authorize", async function authorize(c) {
  const config = c.get("config");
  const query = new URL(c.req.url).searchParams;
  if (query.has("link")) return beginLink(c, query);

  const decision = decideAuthorize(query, config);
  switch (decision.kind) {
    case "refuse":
      throw invalidRequest(decision.description);
    case "redirect_error":
      return redirect(c, authorizationError(c, decision.redirectUri, decision.error, decision.state, decision.description));
    case "choose":
      return c.html(chooserPage(query, config.federation.providers, decision.request.client.client_id), 200, CHOOSER_HEADERS);
    case "start": {
      const { request } = decision;
      const purpose: TransactionPurpose = {
        kind: "sign_in",
        client_id: request.client.client_id,
        redirect_uri: request.redirectUri,
        code_challenge: request.codeChallenge,
        state: request.state,
      };
      return beginSignIn(c, decision.provider, purpose, (reason) => authorizationError(c, request.redirectUri, callbackAnswer(reason), request.state));
    }
  }
});

/** `?link=<ticket>`: a signed-in user's one-time trip to link an identity. An unusable ticket has nowhere to be told but here. */
async function beginLink(c: AppContext, query: URLSearchParams) {
  const returnUrl = linkReturnUrl(c.get("config"));
  if (returnUrl === null) throw misconfigured("OIDC_LINK_RETURN_URL is not set: linking identities needs a page to return to.");
  const values = query.getAll("link");
  const ticket = values.length === 1 ? await parseOneTimeSecret("lt1", values[0]!) : null;
  const stub = ticket && userAuthOfToken(c.env, ticket);
  const link = stub ? await withTarget(stub.federation(), (federation) => federation.takeLinkTicket(ticket!.hash)) : null;
  const provider = link && providerById(c.get("config"), link.provider);
  if (!link || !provider) throw invalidRequest("The link URL is unknown, already used or expired: ask for a new one.");
  return beginSignIn(c, provider, { kind: "link", sub: link.sub }, (reason) => withParameters(returnUrl, { error: callbackAnswer(reason) }));
}

/**
 * Sends the browser to the provider with a new transaction in its cookie; when the provider
 * cannot be reached (its discovery), to `failure(reason)` instead.
 */
async function beginSignIn(c: AppContext, provider: UpstreamProvider, purpose: TransactionPurpose, failure: (reason: CallbackRefusal) => string) {
  const ring = keyRing(c);
  const started = await beginUpstream(provider, callbackUrl(c.get("config")), purpose, Date.now());
  if (!started.ok) {
    logRefusal("oidc_authorize", started.reason, { provider: provider.id });
    return redirect(c, failure(started.reason));
  }
  // SameSite=Lax, not Strict: the callback is a top-level navigation from the provider's site,
  // which a Strict cookie would not come back with.
  setCookie(c, TRANSACTION_COOKIE, await sealTransaction(ring, started.transaction), {
    httpOnly: true,
    secure: true,
    sameSite: "Lax",
    path: "/",
    maxAge: TRANSACTION_TTL_SECONDS,
  });
  return redirect(c, started.url);
}

/**
 * The app's redirect URI with an authorization error (RFC 6749 section 4.1.2.1): `error`, its
 * `state`, and the gateway's `iss` (RFC 9207 section 2: error responses name the issuer too).
 */
export function authorizationError(c: AppContext, redirectUri: string, error: string, state: string | null, description?: string): string {
  return withParameters(redirectUri, { error, error_description: description ?? null, state, iss: c.get("config").issuer });
}

/** A 302 of the authorization flow: never cached, never passing the URL on as a referrer. */
export function redirect(c: AppContext, location: string) {
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  return c.redirect(location, 302);
}
