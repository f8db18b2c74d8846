import type { Config } from "../config";
import type { OAuthClient, UpstreamProvider } from "../config/federation";

/**
 * The gateway's two lists for federation, read from the configuration: the upstream providers
 * users sign in through, and the team's own apps (OAuth clients) that ask for a sign-in.
 */

/** The client id of the demo app (`DEMO=true`): a client like any other, whose redirect URI is the demo page. */
export const DEMO_CLIENT_ID = "edge-auth-demo";

/** The configured provider of that id, or null. */
export function providerById(config: Config, id: string): UpstreamProvider | null {
  return config.federation.providers.find((provider) => provider.id === id) ?? null;
}

/**
 * The client of that id: one of `OAUTH_CLIENTS`, or with the demo on, the demo itself, whose
 * redirect URIs are the demo page in each of its modes (`<ISSUER>/demo?storage=memory&dpop=1`,
 * ...), so that a sign-in comes back to the mode it left. Null for any other.
 */
export function clientById(config: Config, clientId: string): OAuthClient | null {
  const registered = config.federation.oauthClients.find((client) => client.client_id === clientId);
  if (registered) return registered;
  if (!config.demo || clientId !== DEMO_CLIENT_ID) return null;
  const page = `${issuerBase(config)}/demo`;
  const modes = ["localStorage", "memory", "cookie"].flatMap((storage) => [`?storage=${storage}`, `?storage=${storage}&dpop=1`]);
  return { client_id: DEMO_CLIENT_ID, redirect_uris: modes.map((mode) => page + mode) };
}

/**
 * Whether `redirectUri` is one the client registered, compared exactly: no normalisation of case,
 * port, path, trailing slash or query (RFC 6749 section 3.1.2.3, OAuth 2.1 section 4.1.1), so a
 * look-alike can never receive a code.
 */
export function isRegisteredRedirect(client: OAuthClient, redirectUri: string): boolean {
  return client.redirect_uris.includes(redirectUri);
}

/** `ISSUER` without a trailing slash: the base of every URL the gateway names itself by. */
export function issuerBase(config: Config): string {
  return config.issuer.replace(/\/+$/, "");
}

/** The one redirect URI registered with every provider. */
export function callbackUrl(config: Config): string {
  return `${issuerBase(config)}/auth/oidc/callback`;
}

/**
 * Where a link flow returns the browser: `OIDC_LINK_RETURN_URL`, or with the demo on,
 * `<ISSUER>/demo`; null when neither is set (linking is then off).
 */
export function linkReturnUrl(config: Config): string | null {
  if (config.federation.linkReturnUrl) return config.federation.linkReturnUrl.href;
  return config.demo ? `${issuerBase(config)}/demo` : null;
}

/**
 * `base` with `parameters` added to its query, keeping what it has (RFC 6749 section 3.1.2: a
 * registered redirect URI's own query is retained). Redirects of the authorization flow go only
 * to such URLs: a registered redirect URI, the link return URL, a provider's endpoint.
 */
export function withParameters(base: string, parameters: Record<string, string | null>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(parameters)) if (value !== null) url.searchParams.append(name, value);
  return url.href;
}
