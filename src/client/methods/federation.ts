// Signing in through an upstream OpenID provider: the gateway as the app's OAuth server, with the
// authorization code flow and PKCE (RFC 6749 section 4.1, RFC 7636), and RFC 9207's `iss` checked.
import type { ClientContext } from "../context.js";
import { AuthClientError, errorFromResponse } from "../errors.js";
import type { SessionInfo } from "../options.js";
import { sessionInfo } from "../responses.js";
import type { IdentityLinkResponse } from "../../wire/index.js";

/** The app as `OAUTH_CLIENTS` registers it: its `client_id` and this page's redirect URI, exactly. */
export interface SignInApp {
  clientId: string;
  redirectUri: string;
}

/** What a tab remembers between `signInUrl` and `completeSignIn` (in `sessionStorage`: that tab only). */
interface PendingSignIn {
  verifier: string;
  clientId: string;
  redirectUri: string;
}

const PENDING_PREFIX = "edge-auth-sign-in:";

/**
 * The URL of `GET /auth/authorize` to send the browser to (`location.assign(url)`): a new PKCE
 * verifier and `state`, remembered in this tab's `sessionStorage` for `completeSignIn`. Without
 * `provider`, the gateway shows its page of providers.
 */
export async function signInUrl(client: ClientContext, app: SignInApp, provider: string | null): Promise<string> {
  const storage = client.env.sessionStorage;
  if (!storage) throw new TypeError("signing in through a provider needs sessionStorage (or pass environment.sessionStorage).");
  const verifier = randomText(32);
  const state = randomText(16);
  storage.setItem(PENDING_PREFIX + state, JSON.stringify({ verifier, clientId: app.clientId, redirectUri: app.redirectUri } satisfies PendingSignIn));
  const url = new URL("/auth/authorize", client.transport.origin);
  const parameters: Record<string, string> = {
    response_type: "code",
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    code_challenge: await s256(verifier),
    code_challenge_method: "S256",
    state,
    ...(provider === null ? {} : { provider }),
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return url.href;
}

/**
 * On the redirect URI's page: when `url` is the gateway's answer to a sign-in this tab started,
 * exchanges its code for a session (`POST /auth/token`, with a DPoP proof in DPoP mode) and keeps
 * it as a login does. Null when `url` carries no answer. Rejects with the answer's `error`
 * (`access_denied`, `temporarily_unavailable`, ...), or `sign_in_failed` for an answer this tab
 * did not ask for or that names another issuer (RFC 9207: a mix-up).
 */
export async function completeSignIn(client: ClientContext, url: string): Promise<SessionInfo | null> {
  const parameters = new URL(url).searchParams;
  if (!parameters.has("code") && !parameters.has("error")) return null;
  const state = parameters.get("state") ?? "";
  const storage = client.env.sessionStorage;
  const stored = storage?.getItem(PENDING_PREFIX + state) ?? null;
  storage?.removeItem(PENDING_PREFIX + state);
  if (stored === null) throw new AuthClientError("sign_in_failed", "This tab started no sign-in with that state.");
  const pending = JSON.parse(stored) as PendingSignIn;
  const iss = parameters.get("iss");
  if (iss === null || new URL(iss).origin !== client.transport.origin) throw new AuthClientError("sign_in_failed", "The answer names another issuer than this gateway.");
  const error = parameters.get("error");
  if (error !== null) throw new AuthClientError(error, parameters.get("error_description") ?? `The sign-in ended with ${error}.`);

  const sentAt = client.env.now();
  const response = await client.transport.post("/auth/token", {
    grant_type: "authorization_code",
    code: parameters.get("code"),
    redirect_uri: pending.redirectUri,
    client_id: pending.clientId,
    code_verifier: pending.verifier,
  });
  if (!response.ok) throw await errorFromResponse(response);
  return sessionInfo(await client.state.accept(response, sentAt, "login"));
}

/** `POST /auth/identities`: the one-time URL (10 minutes) whose trip through `provider` links its identity to this user. */
export async function linkIdentityUrl(client: ClientContext, provider: string): Promise<string> {
  const response = await client.fetch("/auth/identities", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ provider }) });
  if (!response.ok) throw await errorFromResponse(response);
  return ((await response.json()) as IdentityLinkResponse).authorize_url;
}

/** `DELETE /auth/identities/:provider`: refused with `last_sign_in_method` when it is the user's only way in. */
export async function unlinkIdentity(client: ClientContext, provider: string): Promise<void> {
  const response = await client.fetch(`/auth/identities/${encodeURIComponent(provider)}`, { method: "DELETE" });
  if (response.status !== 204) throw await errorFromResponse(response);
}

function randomText(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function s256(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
