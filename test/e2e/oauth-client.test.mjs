// A real OAuth 2.0 client library, oauth4webapi, against `wrangler dev` over HTTP (no browser):
// discovery (RFC 8414), a session bound to the client's DPoP key through the admin route,
// refreshes with DPoP (RFC 6749 section 6, RFC 9449), a DPoP-protected API call, and revocation
// (RFC 7009). The same flow runs inside workerd in test/oauth-client.test.ts; this one goes
// through wrangler's HTTP server, Node's fetch and the ISSUER that scripts/e2e.mjs sets to the
// gateway's URL. Run with `npm run test:e2e`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SignJWT, exportJWK } from "jose";
import * as oauth from "oauth4webapi";
import { adminHeaders, eventsOf, GATEWAY, uniqueUsername } from "./harness.mjs";

const ISSUER = new URL(GATEWAY);
const options = { [oauth.allowInsecureRequests]: true };
const client = { client_id: "oauth4webapi-e2e" };

/**
 * What the app's back end does after its own login: opens a session for `sub` through the admin
 * route, relaying the client's DPoP proof (signed by the client's key for the admin route's URL),
 * so the session is bound to the client's key from the start.
 */
async function openSessionBoundTo(keyPair, sub) {
  const url = new URL("/auth/admin/sessions", ISSUER);
  const proof = await new SignJWT({ htm: "POST", htu: url.href, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(keyPair.publicKey) })
    .sign(keyPair.privateKey);
  const response = await fetch(url, {
    method: "POST",
    headers: { ...adminHeaders, "Content-Type": "application/json", DPoP: proof },
    body: JSON.stringify({ sub }),
  });
  assert.equal(response.status, 201);
  const session = await response.json();
  assert.equal(session.token_type, "DPoP");
  return session;
}

describe("oauth4webapi against wrangler dev", () => {
  it("discovers the gateway, refreshes with DPoP, calls the API with DPoP, revokes, and the refresh token is dead after", async () => {
    const as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
    assert.equal(as.token_endpoint, `${GATEWAY}/auth/token`);
    assert.equal(as.revocation_endpoint, `${GATEWAY}/auth/revoke`);
    assert.ok(as.dpop_signing_alg_values_supported.includes("ES256"));

    // The client's key pair, the private key non-extractable; oauth4webapi signs its proofs with it.
    const keyPair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const DPoP = oauth.DPoP(client, keyPair);
    const sub = uniqueUsername("oauth");
    let { refresh_token: refreshToken } = await openSessionBoundTo(keyPair, sub);

    for (let round = 0; round < 2; round += 1) {
      const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...options, DPoP });
      const tokens = await oauth.processRefreshTokenResponse(as, client, response);
      assert.equal(tokens.token_type, "dpop");
      assert.notEqual(tokens.refresh_token, refreshToken);
      refreshToken = tokens.refresh_token;

      const api = await oauth.protectedResourceRequest(tokens.access_token, "GET", new URL("/api/me?from=oauth4webapi", ISSUER), new Headers(), null, { ...options, DPoP });
      assert.equal(api.status, 200);
      const echoed = await api.json();
      assert.equal(echoed.headers["x-auth-user"], sub);
      assert.match(echoed.headers.authorization, /^DPoP /);
      assert.ok(echoed.headers.dpop, "the origin receives the proof too");
    }

    // The same refresh token without the key: refused, and nothing rotated.
    const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, options);
    await assert.rejects(oauth.processRefreshTokenResponse(as, client, stolen), { error: "invalid_grant" });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), refreshToken, options));
    const afterRevocation = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { ...options, DPoP });
    await assert.rejects(oauth.processRefreshTokenResponse(as, client, afterRevocation), { error: "invalid_grant" });

    assert.equal((await eventsOf(sub, "refresh", 2)).length, 2);
    assert.equal((await eventsOf(sub, "dpop_proof_failed")).length, 1);
    assert.equal((await eventsOf(sub, "logout")).length, 1);
  });
});
