import type { Context } from "hono";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { AppEnv } from "../src/http/context";
import { keyRing } from "../src/http/context";
import { invalidRequest } from "../src/errors/auth-error";
import { tokenResponse } from "../src/http/token-response";
import type { BenchBindings } from "./routes";

/**
 * Bench only: the floor of a federated sign-in (`npm run bench`, bench/scenarios/federation.mjs).
 * Whatever else it does, a sign-in through a provider cannot do less than this, in the two
 * requests the protocol has (the browser's return from the provider, then the app's code
 * exchange): `federationCallbackFloor`, one token request to the provider with the upstream code
 * and one ID token verification under the provider's keys (fetched once, as the gateway's are
 * cached); then `federationSessionFloor`, one session opening: one Durable Object RPC that commits
 * one SQLite write (the refresh floor's object), the access token signed and the token response.
 * No transaction cookie, state or nonce check, no D1, no code kept in between.
 */
export async function federationCallbackFloor(c: Context<AppEnv>) {
  const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
  const { issuer, client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri } = body ?? {};
  if (![issuer, clientId, code, verifier, redirectUri].every((value) => typeof value === "string" && value !== "")) {
    throw invalidRequest("issuer, client_id, code, code_verifier and redirect_uri are required.");
  }
  const provider = await metadataOf(issuer as string);
  const answer = await fetch(provider.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: code as string, redirect_uri: redirectUri as string, client_id: clientId as string, code_verifier: verifier as string }),
  });
  const tokens = (await answer.json()) as { id_token?: string };
  if (!answer.ok || typeof tokens.id_token !== "string") throw invalidRequest(`the provider answered ${answer.status}`);
  const { payload } = await jwtVerify(tokens.id_token, provider.keys, { issuer: issuer as string, audience: clientId as string });
  return c.json({ sub: payload.sub });
}

/** The second half of the floor: one session opening for `user`. */
export async function federationSessionFloor(c: Context<AppEnv>) {
  const { user } = ((await c.req.json().catch(() => null)) as Record<string, unknown> | null) ?? {};
  if (typeof user !== "string" || user === "") throw invalidRequest("user is required.");
  keyRing(c);
  const floors = (c.env as BenchBindings).REFRESH_FLOOR;
  const generation = await floors.get(floors.idFromName(user)).rotate();
  const issued = { sub: user, sessionId: user, refreshToken: `floor.${user}.${generation}`, claims: { idp: "local" }, jkt: null, amr: ["fed" as const], authTime: Date.now() };
  return tokenResponse(c, issued);
}

const providers = new Map<string, Promise<{ token_endpoint: string; keys: ReturnType<typeof createRemoteJWKSet> }>>();

/** The provider's token endpoint and keys, fetched once per isolate. */
function metadataOf(issuer: string) {
  let entry = providers.get(issuer);
  if (!entry) {
    entry = fetch(`${issuer}/.well-known/openid-configuration`)
      .then((response) => response.json() as Promise<{ token_endpoint: string; jwks_uri: string }>)
      .then((metadata) => ({ token_endpoint: metadata.token_endpoint, keys: createRemoteJWKSet(new URL(metadata.jwks_uri), { cacheMaxAge: 3_600_000 }) }));
    providers.set(issuer, entry);
  }
  return entry;
}
