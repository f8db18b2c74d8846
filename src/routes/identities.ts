import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, type AppEnv } from "../http/context";
import { rule } from "../http/validation";
import { auditEvent } from "../db/events";
import { identitiesOf, unlinkIdentity } from "../db/identities";
import { AuthError, invalidRequest, misconfigured, notFound } from "../errors/auth-error";
import { PROVIDER_ID } from "../config/federation";
import { issuerBase, linkReturnUrl, providerById, withParameters } from "../federation/clients";
import { userAuthFor, withPasskeys, withTarget } from "../sessions/lookup";
import type { IdentityLinkResponse } from "../wire";
import { sendWebhookOf } from "../durable/queue-messages";

/**
 * A signed-in user's upstream identities: `POST /auth/identities` hands out a one-time URL whose
 * trip through the provider links its identity to the caller (the only way an identity joins an
 * existing user: never by e-mail), and `DELETE /auth/identities/:provider` unlinks one, unless it
 * is the user's last way in.
 */
export const identityRoutes = new Hono<AppEnv>();

const linkBody = bodyOf(z.object({ provider: z.string(rule("must be a configured provider id")) }));

identityRoutes.post("/identities", linkBody, requireAccessToken, async function startLink(c) {
  const config = c.get("config");
  const claims = c.get("auth");
  const { provider: id } = c.req.valid("json");
  const provider = PROVIDER_ID.test(id) ? providerById(config, id) : null;
  if (!provider) throw invalidRequest("provider is not a configured provider.");
  if (linkReturnUrl(config) === null) throw misconfigured("OIDC_LINK_RETURN_URL is not set: linking identities needs a page to return to.");
  const linked = await identitiesOf(c.env.DB, claims.sub);
  if (linked.some((identity) => identity.provider === provider.id)) {
    throw new AuthError("identity_taken", 409, `You already have a ${provider.id} identity linked: unlink it first.`);
  }
  // The ticket lives in the caller's own object: one-time, ten minutes, at most a few per user.
  const ticket = await withTarget(userAuthFor(c.env, claims.sub).federation(), (federation) => federation.issueLinkTicket({ sub: claims.sub, provider: provider.id }));
  c.header("Cache-Control", "no-store");
  return c.json({ authorize_url: withParameters(`${issuerBase(config)}/auth/authorize`, { link: ticket }) } satisfies IdentityLinkResponse);
});

identityRoutes.delete("/identities/:provider", bodyWithoutFields, requireAccessToken, async function unlink(c) {
  const claims = c.get("auth");
  const provider = c.req.param("provider");
  if (!PROVIDER_ID.test(provider)) throw notFound("You have no identity of that provider.");
  const event = auditEvent({ type: "identity_unlinked", sub: claims.sub, session_id: claims.sid, at: Date.now(), ip: clientInfo(c).ip, detail: { provider } });
  const outcome = await unlinkIdentity(c.env.DB, { userId: claims.sub, provider, hasPasskeys: await hasPasskeys(c.env, claims.sub) }, event);
  if (outcome === "not_found") throw notFound("You have no identity of that provider.");
  if (outcome === "last_sign_in_method") {
    throw new AuthError("last_sign_in_method", 409, "This identity is your only way to sign in: add a password, a passkey or another identity first.");
  }
  await sendWebhookOf(c.env, c.get("config"), event);
  return c.body(null, 204);
});

/** Whether the user has a passkey: their object knows, so a passkey counts as a way in without a D1 row. */
async function hasPasskeys(env: Env, sub: string): Promise<boolean> {
  return (await withPasskeys(env, sub, (passkeys) => passkeys.count())) > 0;
}
