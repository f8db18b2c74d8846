import type { Config } from "../config";
import { PROVIDER_ID, type OAuthClient, type UpstreamProvider } from "../config/federation";
import { clientById, isRegisteredRedirect, providerById } from "./clients";

/**
 * The checks of `GET /auth/authorize`, pure: the query in, what to answer out. In the order RFC
 * 6749 section 4.1.2.1 sets: until the client and an exactly registered redirect URI are known,
 * nothing may go to any redirect URI (an open redirect, or a code to an attacker's), so those
 * problems are answered here, as JSON; after that, every problem goes back to the app at its
 * redirect URI, with its `state`.
 */

/** An authorization request that passed every check. */
export interface AuthorizationRequest {
  client: OAuthClient;
  redirectUri: string;
  codeChallenge: string;
  /** The app's `state`, returned with the answer; null when it sent none. */
  state: string | null;
}

export type AuthorizeDecision =
  /** 400 JSON `invalid_request`: no client or redirect URI to tell. */
  | { kind: "refuse"; description: string }
  /** 302 to the app's redirect URI with `error` (RFC 6749 section 4.1.2.1). */
  | { kind: "redirect_error"; redirectUri: string; state: string | null; error: "invalid_request" | "unsupported_response_type" | "invalid_scope"; description: string }
  /** No `provider`: the page that offers each configured one. */
  | { kind: "choose"; request: AuthorizationRequest }
  | { kind: "start"; request: AuthorizationRequest; provider: UpstreamProvider };

// Bounds that keep every value well inside the transaction cookie, and a request line sane.
const MAX_CLIENT_ID = 255;
const MAX_REDIRECT_URI = 512;
const MAX_STATE = 1024;
const MAX_SCOPE = 1024;
// RFC 6749 appendix A.5: state is VSCHAR (%x20-7E); A.4: scope tokens, space-delimited.
const STATE = /^[\x20-\x7e]+$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;
// RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Decides what `GET /auth/authorize` answers for `query`.
 *
 * @example
 * decideAuthorize(new URLSearchParams("client_id=spa"), config);
 * // { kind: "refuse", description: "redirect_uri is required." }
 */
export function decideAuthorize(query: URLSearchParams, config: Config): AuthorizeDecision {
  // RFC 6749 section 3.1: a parameter sent twice is invalid, wherever it is.
  const one = (name: string) => {
    const values = query.getAll(name);
    return values.length === 0 ? { ok: true as const, value: null } : values.length === 1 ? { ok: true as const, value: values[0]! } : { ok: false as const };
  };

  const clientId = one("client_id");
  if (!clientId.ok) return refuse("client_id must be sent once.");
  if (!clientId.value) return refuse("client_id is required.");
  const client = clientId.value.length <= MAX_CLIENT_ID ? clientById(config, clientId.value) : null;
  if (!client) return refuse("client_id is not a registered client.");

  const redirect = one("redirect_uri");
  if (!redirect.ok) return refuse("redirect_uri must be sent once.");
  if (!redirect.value) return refuse("redirect_uri is required.");
  if (redirect.value.length > MAX_REDIRECT_URI || !isRegisteredRedirect(client, redirect.value)) {
    return refuse("redirect_uri is not one the client registered (they are compared exactly).");
  }
  const redirectUri = redirect.value;

  // From here on the app is told, at its redirect URI. Its state goes back only when it is one.
  const state = one("state");
  const appState = state.ok && state.value !== null && state.value.length <= MAX_STATE && STATE.test(state.value) ? state.value : null;
  const back = (error: Extract<AuthorizeDecision, { kind: "redirect_error" }>["error"], description: string): AuthorizeDecision => ({
    kind: "redirect_error",
    redirectUri,
    state: appState,
    error,
    description,
  });
  if (!state.ok) return back("invalid_request", "state must be sent once.");
  if (state.value !== null && appState === null) return back("invalid_request", `state must be 1 to ${MAX_STATE} visible ASCII characters.`);

  const responseType = one("response_type");
  if (!responseType.ok) return back("invalid_request", "response_type must be sent once.");
  if (!responseType.value) return back("invalid_request", "response_type is required.");
  if (responseType.value !== "code") return back("unsupported_response_type", "Only response_type=code is supported.");

  const challenge = one("code_challenge");
  const method = one("code_challenge_method");
  if (!challenge.ok || !method.ok) return back("invalid_request", "code_challenge and code_challenge_method must be sent once.");
  if (!challenge.value) return back("invalid_request", "code_challenge is required (PKCE, RFC 7636).");
  if (method.value !== "S256") return back("invalid_request", "code_challenge_method must be S256.");
  if (!S256_CHALLENGE.test(challenge.value)) return back("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the code_verifier.");

  const scope = one("scope");
  if (!scope.ok) return back("invalid_request", "scope must be sent once.");
  // The gateway's tokens carry no scopes: a well-formed scope is accepted and ignored (RFC 6749 section 3.3).
  if (scope.value !== null && (scope.value.length > MAX_SCOPE || !SCOPE.test(scope.value))) return back("invalid_scope", "scope is not well-formed.");

  const request: AuthorizationRequest = { client, redirectUri, codeChallenge: challenge.value, state: appState };
  const providerId = one("provider");
  if (!providerId.ok) return back("invalid_request", "provider must be sent once.");
  if (providerId.value === null) return { kind: "choose", request };
  const provider = PROVIDER_ID.test(providerId.value) ? providerById(config, providerId.value) : null;
  if (!provider) return back("invalid_request", "provider is not a configured provider.");
  return { kind: "start", request, provider };
}

function refuse(description: string): AuthorizeDecision {
  return { kind: "refuse", description };
}
