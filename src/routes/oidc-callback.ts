import { Hono } from "hono";
import { deleteCookie, getCookie } from "hono/cookie";
import { clientInfo, keyRing, type AppContext, type AppEnv } from "../http/context";
import { countRegistration } from "../accounts/registration-limit";
import { auditEvent } from "../db/events";
import { createIdentity, findIdentity, linkIdentity } from "../db/identities";
import { AuthError, invalidRequest, misconfigured } from "../errors/auth-error";
import { callbackAnswer, type CallbackRefusal } from "../errors/refusals";
import { logRefusal } from "../errors/verdict";
import type { UpstreamProvider } from "../config/federation";
import { callbackUrl, clientById, isRegisteredRedirect, linkReturnUrl, providerById, withParameters } from "../federation/clients";
import { finishUpstream, type UpstreamIdentity } from "../federation/relying-party";
import { openTransaction, TRANSACTION_COOKIE, type Transaction } from "../federation/transaction";
import { userAuthFor, withTarget } from "../sessions/lookup";
import { sessionOpening } from "../sessions/sign-in";
import { authorizationError, redirect } from "./authorize";
import { sendWebhookOf } from "../durable/queue-messages";

/**
 * `GET /auth/oidc/callback`: where every provider returns the browser. The browser's transaction
 * cookie says what it started; the provider's answer is checked (src/federation/relying-party.ts);
 * then the upstream identity signs in as its user (created at its first sign-in) and the app gets
 * a code at its redirect URI, or, for a link, the identity joins the signed-in user and the
 * browser returns to the link return URL. Every failure after the transaction is known goes back
 * to where the flow would have ended, as an `error` parameter: never a 500, never anywhere else.
 */
export const callbackRoutes = new Hono<AppEnv>();

// Two copies of the cookie mean one was planted (cookie tossing): neither is used.
const COOKIE_PAIR = new RegExp(`(?:^|;)\\s*${TRANSACTION_COOKIE}\\s*=`, "g");

callbackRoutes.get("/oidc/callback", async function callback(c) {
  const config = c.get("config");
  const now = Date.now();
  const copies = (c.req.header("Cookie") ?? "").match(COOKIE_PAIR)?.length ?? 0;
  const transaction = copies === 1 ? await openTransaction(keyRing(c), getCookie(c, TRANSACTION_COOKIE), now) : null;
  // Single use: whatever happens next, this browser's transaction is over.
  deleteCookie(c, TRANSACTION_COOKIE, { httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
  if (!transaction) throw invalidRequest("No sign-in is in progress in this browser, or it expired: start again at /auth/authorize.");
  const answer = answerFor(c, transaction);

  const provider = providerById(config, transaction.provider);
  if (!provider) return answer.failed("unknown_provider");
  const secret = config.federation.clientSecrets[provider.id] ?? null;
  const verdict = await finishUpstream(provider, secret, transaction, new URL(c.req.url).searchParams, callbackUrl(config), now);
  if (!verdict.ok) return answer.failed(verdict.reason);

  try {
    return transaction.purpose.kind === "link"
      ? await link(c, provider, verdict.identity, transaction.purpose.sub, answer)
      : await signIn(c, provider, verdict.identity, transaction.purpose, answer);
  } catch (error) {
    // D1, where identities live, is away, or first sign-ins from this address hit their limit.
    if (error instanceof AuthError && error.code === "temporarily_unavailable") return answer.failed("users_unavailable");
    if (error instanceof AuthError && error.code === "too_many_requests") return answer.failed("too_many_sign_ups");
    throw error;
  }
});

interface Answer {
  /** Where a success goes, with `parameters`. */
  succeeded(parameters: Record<string, string | null>): Response;
  failed(reason: CallbackRefusal): Response;
}

/**
 * Where this transaction's flow ends: the app's redirect URI (still registered: the settings may
 * have changed in ten minutes), with its `state` and the gateway's `iss`; or, for a link, the
 * link return URL.
 */
function answerFor(c: AppContext, transaction: Transaction): Answer {
  const config = c.get("config");
  const purpose = transaction.purpose;
  if (purpose.kind === "link") {
    const returnUrl = linkReturnUrl(config);
    if (returnUrl === null) throw misconfigured("OIDC_LINK_RETURN_URL is not set: linking identities needs a page to return to.");
    return {
      succeeded: (parameters) => redirect(c, withParameters(returnUrl, parameters)),
      failed: (reason) => {
        logRefusal("oidc_callback", reason, { provider: transaction.provider, purpose: "link" });
        return redirect(c, withParameters(returnUrl, { error: callbackAnswer(reason) }));
      },
    };
  }
  const client = clientById(config, purpose.client_id);
  if (!client || !isRegisteredRedirect(client, purpose.redirect_uri)) {
    throw invalidRequest("The client or redirect URI of this sign-in is no longer registered.");
  }
  return {
    succeeded: (parameters) => redirect(c, withParameters(purpose.redirect_uri, { ...parameters, state: purpose.state, iss: config.issuer })),
    failed: (reason) => {
      logRefusal("oidc_callback", reason, { provider: transaction.provider, client_id: purpose.client_id });
      return redirect(c, authorizationError(c, purpose.redirect_uri, callbackAnswer(reason), purpose.state));
    },
  };
}

/**
 * A sign-in: the identity's user (a new one, with a new id, at its first sign-in: never found by
 * e-mail), then a code in that user's object for the app to exchange at `/auth/token`.
 */
async function signIn(c: AppContext, provider: UpstreamProvider, identity: UpstreamIdentity, purpose: Extract<Transaction["purpose"], { kind: "sign_in" }>, answer: Answer) {
  const now = Date.now();
  const found = await findIdentity(c.env.DB, provider.id, identity.subject);
  let userId = found?.user_id;
  if (!userId) {
    // A first sign-in creates a user, like a registration, and counts as one against the address.
    await countRegistration(c.env, clientInfo(c).ip);
    userId = await createIdentity(c.env.DB, { provider: provider.id, subject: identity.subject, user_id: crypto.randomUUID(), email: identity.email, created_at: now });
  }
  const issue = {
    opening: sessionOpening({ method: "oidc", sub: userId, provider: provider.id }, now),
    clientId: purpose.client_id,
    redirectUri: purpose.redirect_uri,
    codeChallenge: purpose.code_challenge,
  };
  const code = await withTarget(userAuthFor(c.env, userId).federation(), (federation) => federation.issueCode(issue));
  return answer.succeeded({ code });
}

/** A link: the identity joins the signed-in user who asked, unless it is another user's. */
async function link(c: AppContext, provider: UpstreamProvider, identity: UpstreamIdentity, sub: string, answer: Answer) {
  const now = Date.now();
  const event = auditEvent({ type: "identity_linked", sub, session_id: null, at: now, ip: clientInfo(c).ip, detail: { provider: provider.id } });
  const outcome = await linkIdentity(c.env.DB, { provider: provider.id, subject: identity.subject, user_id: sub, email: identity.email, created_at: now }, event);
  if (outcome === "identity_taken" || outcome === "provider_taken") return answer.failed("identity_taken");
  if (outcome === "linked") await sendWebhookOf(c.env, c.get("config"), event);
  return answer.succeeded({ linked: provider.id });
}
