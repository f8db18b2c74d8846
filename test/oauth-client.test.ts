import { exports } from "cloudflare:workers";
import { SignJWT, exportJWK } from "jose";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { adminHeaders, eventsOf, uniqueSub } from "./helpers";

// A real OAuth 2.0 client library, oauth4webapi, talking to the gateway the way it talks to any
// authorization server: discovery (RFC 8414), refresh with DPoP (RFC 6749 section 6, RFC 9449),
// a DPoP-protected API call, and revocation (RFC 7009). Its requests reach the worker's real fetch
// handler at the configured ISSUER, http://127.0.0.1:8787 (test/e2e runs the same against
// `wrangler dev`).
const ISSUER = new URL("http://127.0.0.1:8787");
const toWorker = ((url: string, init: RequestInit) => exports.default.fetch(new Request(url, init))) as typeof fetch;
const options = { [oauth.customFetch]: toWorker, [oauth.allowInsecureRequests]: true };
const client: oauth.Client = { client_id: "oauth4webapi-test" };

/** A session the origin's back end opens for `sub`, bound to the client's key (it relays the client's proof). */
async function openSessionBoundTo(keyPair: CryptoKeyPair, sub: string): Promise<{ refresh_token: string }> {
  const url = new URL("/auth/admin/sessions", ISSUER);
  const proof = await new SignJWT({ htm: "POST", htu: url.href, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(keyPair.publicKey) })
    .sign(keyPair.privateKey);
  const response = await toWorker(url.href, {
    method: "POST",
    headers: { ...adminHeaders, "Content-Type": "application/json", DPoP: proof },
    body: JSON.stringify({ sub }),
  });
  expect(response.status).toBe(201);
  return response.json();
}

describe("oauth4webapi as the client", () => {
  it("discovers the gateway, refreshes with DPoP, calls the API, and revokes", async () => {
    const as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
    expect(as.token_endpoint).toBe("http://127.0.0.1:8787/auth/token");
    expect(as.dpop_signing_alg_values_supported).toContain("ES256");

    // A non-extractable private key, as a browser would keep it.
    const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
    const DPoP = oauth.DPoP(client, keyPair);
    const sub = uniqueSub("oauth");
    let { refresh_token: refreshToken } = await openSessionBoundTo(keyPair, sub);

    for (let round = 0; round < 2; round += 1) {
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...options, DPoP });
      const tokens = await oauth.processRefreshTokenResponse(as, client, response);
      expect(tokens.token_type).toBe("dpop");
      expect(tokens.refresh_token).toBeTypeOf("string");
      refreshToken = tokens.refresh_token!;

      const api = await oauth.protectedResourceRequest(tokens.access_token, "GET", new URL("/api/me", ISSUER), new Headers(), null, { ...options, DPoP });
      expect(api.status).toBe(200);
      expect(((await api.json()) as { headers: Record<string, string> }).headers["x-auth-user"]).toBe(sub);
    }

    // Without the key, the same refresh token is useless.
    const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, options);
    await expect(oauth.processRefreshTokenResponse(as, client, stolen)).rejects.toMatchObject({ error: "invalid_grant" });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), refreshToken, options));
    const afterRevocation = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...options, DPoP });
    await expect(oauth.processRefreshTokenResponse(as, client, afterRevocation)).rejects.toMatchObject({ error: "invalid_grant" });
    expect(await eventsOf(sub, "logout")).toHaveLength(1);
    expect(await eventsOf(sub, "dpop_proof_failed")).toHaveLength(1);
  });
});
