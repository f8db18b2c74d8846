import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { eventsOf } from "../helpers";
import { downstream, exchangeLanded, FAKE_IDP, follow, gatewayMetadata, ISSUER, signInAt, TestBrowser, toWorker, uniqueAccount, upstreamCounts } from "./flow";
import { LOCAL_CONFIDENTIAL, LOCAL_PUBLIC, SPA } from "./settings";

// The whole flow, as a team's app would run it with oauth4webapi: discovery of the gateway, an
// authorization request with PKCE, the trip through a real OpenID provider (panva's
// oidc-provider, test/idp-servers.mjs) and back, the RFC 9207 check of the answer, the code
// exchange bound to a DPoP key, an API call, and refreshes at the token endpoint.

const spa: oauth.Client = { client_id: SPA.clientId };

async function identityOf(provider: string, subject: string) {
  return env.DB.prepare("SELECT user_id, email FROM identities WHERE provider = ?1 AND subject = ?2").bind(provider, subject).first<{ user_id: string; email: string }>();
}

describe("signing in through an upstream OpenID provider", () => {
  it("runs from the app's authorization request to a DPoP-bound session, with amr fed, idp, a login event, and refreshes at /auth/token", async () => {
    const as = await gatewayMetadata();
    expect(as.authorization_endpoint).toBe(`${ISSUER}/auth/authorize`);
    expect(as.token_endpoint).toBe(`${ISSUER}/auth/token`);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);

    const account = uniqueAccount();
    const { landed, state, verifier } = await signInAt(LOCAL_CONFIDENTIAL.id, { login: account });
    expect(landed.origin + landed.pathname).toBe(SPA.redirectUri);
    expect(landed.searchParams.get("iss")).toBe(ISSUER);

    // oauth4webapi checks `iss` and `state` of the answer (RFC 9207, RFC 6749 section 10.12).
    const parameters = oauth.validateAuthResponse(as, spa, landed, state);
    const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])) as CryptoKeyPair;
    const DPoP = oauth.DPoP(spa, keyPair);
    const exchanged = await oauth.authorizationCodeGrantRequest(as, spa, oauth.None(), parameters, SPA.redirectUri, verifier, { ...downstream, DPoP });
    expect(exchanged.headers.get("Cache-Control")).toBe("no-store");
    const tokens = await oauth.processAuthorizationCodeResponse(as, spa, exchanged);
    expect(tokens.token_type).toBe("dpop");

    const identity = await identityOf(LOCAL_CONFIDENTIAL.id, account);
    expect(identity).toEqual({ user_id: expect.stringMatching(/^[0-9a-f-]{36}$/), email: `${account}@example.test` });
    const claims = decodeJwt(tokens.access_token);
    expect(claims).toMatchObject({ sub: identity!.user_id, amr: ["fed"], idp: LOCAL_CONFIDENTIAL.id, cnf: { jkt: expect.any(String) } });
    expect(claims.auth_time).toBeTypeOf("number");

    const api = await oauth.protectedResourceRequest(tokens.access_token, "GET", new URL("/api/me", ISSUER), new Headers(), null, { ...downstream, DPoP });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { headers: Record<string, string> }).headers["x-auth-user"]).toBe(identity!.user_id);

    // The refresh grant at /auth/token is /auth/refresh: a new pair, the idp and amr kept.
    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      spa,
      await oauth.refreshTokenGrantRequest(as, spa, oauth.None(), tokens.refresh_token!, { ...downstream, DPoP }),
    );
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ sub: identity!.user_id, amr: ["fed"], idp: LOCAL_CONFIDENTIAL.id, auth_time: claims.auth_time });

    const logins = await eventsOf(identity!.user_id, "login");
    expect(logins).toHaveLength(1);
    expect(logins[0]!.detail).toEqual({ method: "oidc", provider: LOCAL_CONFIDENTIAL.id });
  });

  it("signs the same upstream identity in as the same user again, and another identity as a new user", async () => {
    const account = uniqueAccount();
    await exchangeLanded(await signInAt(LOCAL_CONFIDENTIAL.id, { login: account }));
    const first = await identityOf(LOCAL_CONFIDENTIAL.id, account);
    await exchangeLanded(await signInAt(LOCAL_CONFIDENTIAL.id, { login: account }));
    expect(await identityOf(LOCAL_CONFIDENTIAL.id, account)).toEqual(first);

    // The same account name at the public client is the same provider's `sub`, but another
    // provider here (its own id): a user of its own, never matched by e-mail.
    await exchangeLanded(await signInAt(LOCAL_PUBLIC.id, { login: account }));
    const other = await identityOf(LOCAL_PUBLIC.id, account);
    expect(other!.user_id).not.toBe(first!.user_id);
    expect(other!.email).toBe(first!.email);
  });

  it("signs in through a public client (PKCE only, no secret) too", async () => {
    const { landed } = await signInAt(LOCAL_PUBLIC.id);
    expect(landed.searchParams.get("code")).toMatch(/^ac1\./);
  });

  it("fetches the provider's discovery and JWKS once, not per sign-in", async () => {
    // A provider of this test's own, so that no other file's sign-ins are counted.
    const counted = async () => ((await upstreamCounts(FAKE_IDP)) as Record<string, Record<string, number>>).counted!;
    await exchangeLanded(await signInAt("fake-counted")); // warm
    const before = await counted();
    for (let round = 0; round < 3; round += 1) await exchangeLanded(await signInAt("fake-counted"));
    expect(await counted()).toEqual({ ...before, token: before.token! + 3 });
  });

  it("shows the chooser without provider: one link per provider, the same request plus provider, under a strict CSP", async () => {
    const url = new URL(`${ISSUER}/auth/authorize`);
    url.search = new URLSearchParams({ response_type: "code", client_id: SPA.clientId, redirect_uri: SPA.redirectUri, code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256", state: "s<1>" }).toString();
    const response = await toWorker(url.href);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Security-Policy")).toBe("default-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'");
    const html = await response.text();
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!.replaceAll("&#38;", "&"));
    expect(links).toContain(`/auth/authorize?${url.searchParams}&provider=${LOCAL_CONFIDENTIAL.id}`);
    expect(html).not.toContain("s<1>");

    // A link of the chooser is a sign-in like any other.
    const result = await follow(new TestBrowser(), new URL(links.find((link) => link.endsWith(`provider=${LOCAL_PUBLIC.id}`))!, ISSUER).href);
    expect("landed" in result && result.landed.searchParams.get("state")).toBe("s<1>");
  });
});

