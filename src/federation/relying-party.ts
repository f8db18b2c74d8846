import * as oauth from "oauth4webapi";
import type { UpstreamProvider } from "../config/federation";
import type { UpstreamReason } from "../errors/refusals";
import type { Verdict } from "../errors/verdict";
import { discover } from "./discovery";
import { upstreamReason } from "./upstream-reasons";
import type { Transaction, TransactionPurpose } from "./transaction";
import { TRANSACTION_TTL_SECONDS } from "./transaction";
import { UpstreamFailure, upstreamOptions } from "./upstream-fetch";

/**
 * The gateway as a relying party (OpenID Connect Core 1.0, the authorization code flow), with
 * oauth4webapi, each step a named function as in its examples: `beginUpstream` sends the browser
 * to the provider with PKCE (S256), `state` and `nonce`; `finishUpstream` checks what comes back
 * and returns the user's upstream identity, or the one reason it refused.
 */

/** Who the provider says signed in: its `sub` (the identity's key) and the e-mail it gave, if any. */
export interface UpstreamIdentity {
  subject: string;
  email: string | null;
}

/**
 * The provider's authorization URL for a new sign-in, and the transaction that the browser keeps
 * meanwhile (src/federation/transaction.ts). Fails when the provider's discovery cannot be had.
 */
export async function beginUpstream(
  provider: UpstreamProvider,
  callbackUrl: string,
  purpose: TransactionPurpose,
  now: number,
): Promise<Verdict<{ url: string; transaction: Transaction }, UpstreamReason>> {
  const found = await discover(provider.issuer, now);
  if (!found.ok) return found;
  const transaction: Transaction = {
    provider: provider.id,
    state: oauth.generateRandomState(),
    nonce: oauth.generateRandomNonce(),
    verifier: oauth.generateRandomCodeVerifier(),
    expiresAt: now + TRANSACTION_TTL_SECONDS * 1000,
    purpose,
  };
  const url = new URL(found.as.authorization_endpoint!);
  const parameters = {
    response_type: "code",
    client_id: provider.client_id,
    redirect_uri: callbackUrl,
    scope: provider.scope,
    state: transaction.state,
    nonce: transaction.nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(transaction.verifier),
    code_challenge_method: "S256",
  };
  for (const [name, value] of Object.entries(parameters)) url.searchParams.set(name, value);
  return { ok: true, url: url.href, transaction };
}

/**
 * Checks the provider's answer at the callback and exchanges its code: `state` (this browser's
 * transaction), RFC 9207 `iss` when the provider sends it (or says it does), the provider's own
 * `error`, then the token request with the PKCE verifier and the client's secret if it has one,
 * then the ID token: `iss`, `aud`, `azp`, `exp`, `nonce` (oauth4webapi), its signature under
 * the provider's JWKS (`validateApplicationLevelSignature`: oauth4webapi leaves it to the caller
 * in the code flow, where TLS vouches for the token endpoint; the gateway checks it anyway), and
 * `azp` even with a single audience (OpenID Connect Core section 3.1.3.7, point 5).
 */
export async function finishUpstream(
  provider: UpstreamProvider,
  secret: string | null,
  transaction: Transaction,
  callback: URLSearchParams,
  callbackUrl: string,
  now: number,
): Promise<Verdict<{ identity: UpstreamIdentity }, UpstreamReason>> {
  const states = callback.getAll("state");
  if (states.length !== 1 || states[0] !== transaction.state) return { ok: false, reason: "state_mismatch" };
  const found = await discover(provider.issuer, now);
  if (!found.ok) return found;
  const as = found.as;
  const client: oauth.Client = { client_id: provider.client_id };

  // RFC 9207 section 2.4: an answer that names another issuer came from another provider's flow
  // (a mix-up); checked before anything of it is used.
  const iss = callback.getAll("iss");
  if (iss.length > 1 || (iss.length === 1 && iss[0] !== as.issuer)) return { ok: false, reason: "wrong_iss_parameter" };
  if (iss.length === 0 && as.authorization_response_iss_parameter_supported) return { ok: false, reason: "missing_iss_parameter" };

  let parameters: URLSearchParams;
  try {
    parameters = oauth.validateAuthResponse(as, client, callback, transaction.state);
  } catch (error) {
    return { ok: false, reason: error instanceof oauth.AuthorizationResponseError ? "provider_error" : "bad_authorization_response" };
  }

  const options = upstreamOptions(provider.issuer);
  const authentication = secret === null ? oauth.None() : clientSecretAuth(as, secret);
  let step: "token" | "signature" = "token";
  try {
    const response = await oauth.authorizationCodeGrantRequest(as, client, authentication, parameters, callbackUrl, transaction.verifier, options);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: transaction.nonce, requireIdToken: true });
    step = "signature";
    await oauth.validateApplicationLevelSignature(as, response, options);
    const claims = oauth.getValidatedIdTokenClaims(tokens)!;
    if (claims.azp !== undefined && claims.azp !== provider.client_id) return { ok: false, reason: "wrong_azp" };
    // OpenID Connect Core section 2: at most 255 ASCII characters. Anything else is not a `sub`.
    if (!/^[\x21-\x7e]{1,255}$/.test(claims.sub)) return { ok: false, reason: "bad_claim" };
    const email = typeof claims.email === "string" && claims.email.length <= 254 ? claims.email : null;
    return { ok: true, identity: { subject: claims.sub, email } };
  } catch (error) {
    if (error instanceof UpstreamFailure) return { ok: false, reason: error.reason };
    return { ok: false, reason: upstreamReason(error, step) };
  }
}

/**
 * The client secret as the provider takes it: HTTP Basic unless its metadata names only
 * `client_secret_post` (RFC 8414 section 2: Basic is the default when it names none).
 */
function clientSecretAuth(as: oauth.AuthorizationServer, secret: string): oauth.ClientAuth {
  const methods = as.token_endpoint_auth_methods_supported;
  return methods && !methods.includes("client_secret_basic") && methods.includes("client_secret_post")
    ? oauth.ClientSecretPost(secret)
    : oauth.ClientSecretBasic(secret);
}
