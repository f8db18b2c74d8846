// The federation project's settings (vitest.config.ts): every upstream provider the tests sign in
// through and the gateway's own OAuth clients. Read in Node by the config and in workerd by the
// tests, so it imports nothing.

/** The misbehaving provider's modes (test/fake-idp.mjs): each an issuer, and a provider `fake-<mode>` here. */
export const FAKE_MODES = [
  "good",
  "counted", // as good, for the one test that counts what the gateway fetches from it
  "wrong-nonce",
  "wrong-aud",
  "extra-aud", // `aud` [client, another] without `azp`
  "wrong-azp", // `aud` [client, another], `azp` another
  "other-azp", // `aud` the client alone, `azp` another (OpenID Connect Core 3.1.3.7 point 5)
  "wrong-iss",
  "expired",
  "other-key", // signed by a key it does not publish, under the published `kid`
  "unknown-kid",
  "no-id-token",
  "token-error", // 400 invalid_grant
  "token-500",
  "not-json",
  "huge", // a 2 MB JSON answer
  "slow", // never answers
  "access-denied", // the authorization endpoint answers error=access_denied
  "wrong-iss-param", // the authorization response names another issuer (a mix-up, RFC 9207)
  "discovery-not-json",
  "discovery-wrong-issuer",
] as const;

export type FakeMode = (typeof FAKE_MODES)[number];

export const FAKE_CLIENT_ID = "fake-client";

/** The local provider's clients (scripts/lib/local-idp.mjs). */
export const LOCAL_CONFIDENTIAL = { id: "local", clientId: "gateway-confidential", secret: "local-idp-secret-for-development-only" };
export const LOCAL_PUBLIC = { id: "local-public", clientId: "gateway-public" };

/** A provider nobody listens for: discovery is refused at once. */
export const DOWN_ISSUER = "http://127.0.0.1:9";

/** The gateway's own apps, as `OAUTH_CLIENTS` registers them. */
export const SPA = { clientId: "spa", redirectUri: "https://app.example.test/callback" };
export const MOBILE = { clientId: "com.example.app", redirectUri: "com.example.app:/oauth2redirect" };
/** A registered redirect URI with a query of its own (kept when the gateway adds its parameters, RFC 6749 section 3.1.2). */
export const LOOPBACK = { clientId: "cli", redirectUri: "http://127.0.0.1:53682/callback?from=cli" };

/** Where a link flow returns the browser (`OIDC_LINK_RETURN_URL`). */
export const LINK_RETURN = "https://app.example.test/settings";

export const OAUTH_CLIENTS = [
  { client_id: SPA.clientId, redirect_uris: [SPA.redirectUri, "https://app.example.test/other"] },
  { client_id: MOBILE.clientId, redirect_uris: [MOBILE.redirectUri] },
  { client_id: LOOPBACK.clientId, redirect_uris: [LOOPBACK.redirectUri] },
];

/** The project's bindings, from the URLs test/idp-servers.mjs provides. */
export function federationVars(inject: <T>(key: string) => T): Record<string, string> {
  const idp = inject<string>("idpUrl");
  const fake = inject<string>("fakeIdpUrl");
  return {
    OIDC_PROVIDERS: JSON.stringify([
      { id: LOCAL_CONFIDENTIAL.id, issuer: idp, client_id: LOCAL_CONFIDENTIAL.clientId },
      { id: LOCAL_PUBLIC.id, issuer: idp, client_id: LOCAL_PUBLIC.clientId, scope: "openid email" },
      ...FAKE_MODES.map((mode) => ({ id: `fake-${mode}`, issuer: `${fake}/m/${mode}`, client_id: FAKE_CLIENT_ID })),
      { id: "down", issuer: DOWN_ISSUER, client_id: "nobody" },
    ]),
    OIDC_CLIENT_SECRETS: JSON.stringify({ [LOCAL_CONFIDENTIAL.id]: LOCAL_CONFIDENTIAL.secret }),
    OAUTH_CLIENTS: JSON.stringify(OAUTH_CLIENTS),
    OIDC_LINK_RETURN_URL: LINK_RETURN,
    // Webhooks to the project's receiver (test/webhook-receiver.mjs): identities are recorded in
    // D1 by the worker itself, not through an object's outbox, and must still reach the receiver.
    WEBHOOK_URL: `${inject<string>("webhookUrl")}/hook`,
    WEBHOOK_SECRET: inject<string>("webhookSecret"),
    WEBHOOK_EVENTS: "identity_linked,identity_unlinked",
    TEST_IDP_URL: idp,
    TEST_FAKE_IDP_URL: fake,
  };
}
