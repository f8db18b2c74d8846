import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT, base64url, decodeJwt, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { DPOP_FAILURE_EVENT_INTERVAL_MS } from "../src/sessions/storage-bounds";
import type { AuthorizationServerMetadata } from "../src/wire";
import { dpopClient, type DpopClient } from "./dpop-proofs";
import {
  adminHeaders,
  ageSession,
  bearer,
  call,
  eventsOf,
  expectError,
  expectInvalidGrant,
  login,
  onlyEvent,
  openSession,
  PASSWORD,
  postJson,
  registerUser,
  storedSession,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
} from "./helpers";

/** Opens a session through the admin route, relaying `proof` as the client's DPoP header. */
async function openBoundSession(client: DpopClient, sub = uniqueSub()): Promise<TokenResponse & { sub: string }> {
  const response = await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, DPoP: await client.proof("POST", "/auth/admin/sessions") });
  expect(response.status).toBe(201);
  return { ...((await response.json()) as TokenResponse), sub };
}

async function refreshWith(refreshToken: string, client: DpopClient | null, proof?: string) {
  const headers: Record<string, string> = {};
  if (proof ?? client) headers.DPoP = proof ?? (await client!.proof("POST", "/auth/refresh"));
  return postJson("/auth/refresh", { refresh_token: refreshToken }, headers);
}

async function callApi(accessToken: string, client: DpopClient | null, path = "/api/me") {
  if (!client) return call(path, { headers: bearer(accessToken) });
  return call(path, { headers: { Authorization: `DPoP ${accessToken}`, DPoP: await client.proof("GET", path, { accessToken }) } });
}

describe("binding a session to a DPoP key", () => {
  it("binds a password login that carries a proof: token_type DPoP and cnf.jkt in the access token", async () => {
    const client = await dpopClient();
    const { username } = await registerUser();
    const response = await login(username, PASSWORD, { DPoP: await client.proof("POST", "/auth/login") });
    expect(response.status).toBe(200);
    const pair = (await response.json()) as TokenResponse;
    expect(pair.token_type).toBe("DPoP");
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: client.jkt });
  });

  it("binds an admin session when the back end relays the client's proof, with EdDSA keys too", async () => {
    const client = await dpopClient("EdDSA");
    const pair = await openBoundSession(client);
    expect(pair.token_type).toBe("DPoP");
    expect(decodeJwt(pair.access_token).cnf).toEqual({ jkt: client.jkt });
  });

  it("never binds a session at a refresh: an unbound session refreshed with a valid proof answers Bearer and stays unbound", async () => {
    const client = await dpopClient();
    const sub = uniqueSub();
    const first = (await (await postJson("/auth/admin/sessions", { sub }, adminHeaders)).json()) as TokenResponse;
    expect(first.token_type).toBe("Bearer");
    const next = await refreshWith(first.refresh_token, client);
    expect(next.status).toBe(200);
    const pair = (await next.json()) as TokenResponse;
    expect(pair.token_type).toBe("Bearer");
    expect(decodeJwt(pair.access_token).cnf).toBeUndefined();
    expect(await storedSession(sub, first.session_id)).toMatchObject({ generation: 1, jkt: null });
    // Still a Bearer session: the next refresh needs no proof, and the access token works as Bearer.
    expect((await callApi(pair.access_token, null)).status).toBe(200);
    const after = await refreshWith(pair.refresh_token, null);
    expect(after.status).toBe(200);
    expect(((await after.json()) as TokenResponse).token_type).toBe("Bearer");
    expect(await eventsOf(sub, "dpop_proof_failed")).toEqual([]);
  });

  it("still refuses a DPoP header that is not a valid proof on an unbound session's refresh, changing nothing", async () => {
    const client = await dpopClient();
    const sub = uniqueSub();
    const first = (await (await postJson("/auth/admin/sessions", { sub }, adminHeaders)).json()) as TokenResponse;
    const stale = await client.proof("POST", "/auth/refresh", { claims: { iat: Math.floor(Date.now() / 1000) - 3600 } });
    await expectError(await refreshWith(first.refresh_token, client, stale), 400, "invalid_dpop_proof");
    expect(await storedSession(sub, first.session_id)).toMatchObject({ generation: 0, jkt: null });
  });

  it("leaves sessions without a proof unbound (DPOP=optional): Bearer as before", async () => {
    const sub = uniqueSub();
    const pair = (await (await postJson("/auth/admin/sessions", { sub }, adminHeaders)).json()) as TokenResponse;
    expect(pair.token_type).toBe("Bearer");
    expect(decodeJwt(pair.access_token).cnf).toBeUndefined();
    expect((await callApi(pair.access_token, null)).status).toBe(200);
  });
});

describe("refreshing a bound session", () => {
  it("rotates with a proof of the bound key", async () => {
    const client = await dpopClient();
    const pair = await openBoundSession(client);
    const next = await refreshWith(pair.refresh_token, client);
    expect(next.status).toBe(200);
    expect(((await next.json()) as TokenResponse).token_type).toBe("DPoP");
  });

  it("refuses a copied refresh token without the key, rotating and revoking nothing, so the user stays logged in", async () => {
    const client = await dpopClient();
    const thief = await dpopClient();
    const pair = await openBoundSession(client);
    const used = pair.refresh_token;
    const current = (await (await refreshWith(used, client)).json()) as TokenResponse;

    // The current token and a used one (which would be reuse), with no proof and with the thief's key.
    for (const token of [current.refresh_token, used]) {
      await expectInvalidGrant(await refreshWith(token, null));
      await expectInvalidGrant(await refreshWith(token, thief));
    }
    // Four failures within a minute: one event, the first's (at most one a minute per session).
    const failure = await onlyEvent(pair.sub, "dpop_proof_failed", { from: Date.now() - 60_000 });
    expect(failure).toMatchObject({ session_id: pair.session_id, detail: { reason: "no_proof", count: 1 } });
    expect(await eventsOf(pair.sub, "refresh_token_reuse")).toEqual([]);
    expect((await storedSession(pair.sub, pair.session_id)).revoked_at).toBeNull();
    // The real client refreshes on as if nothing happened.
    expect((await refreshWith(current.refresh_token, client)).status).toBe(200);
  });

  it("refuses a proof replayed to the session with 400 invalid_dpop_proof, and the token still works with a fresh one", async () => {
    const client = await dpopClient();
    const pair = await openBoundSession(client);
    const proof = await client.proof("POST", "/auth/refresh");
    const next = (await (await refreshWith(pair.refresh_token, client, proof)).json()) as TokenResponse;
    await expectError(await refreshWith(next.refresh_token, client, proof), 400, "invalid_dpop_proof");
    expect((await refreshWith(next.refresh_token, client)).status).toBe(200);
  });
});

describe("a thief with a key of its own and a copied refresh token of an unbound session", () => {
  const GRACE_MS = Number(env.REFRESH_REUSE_GRACE_SECONDS) * 1000;

  it("cannot take the session by refreshing first with its proof: it gets Bearer, and the real client's next refresh is reuse", async () => {
    const thief = await dpopClient();
    const sub = uniqueSub();
    const victim = await openSession(sub);
    const sibling = await openSession(sub);
    const stolen = await refreshWith(victim.refresh_token, thief);
    expect(stolen.status).toBe(200);
    const thiefPair = (await stolen.json()) as TokenResponse;
    expect(thiefPair.token_type).toBe("Bearer");
    expect(decodeJwt(thiefPair.access_token).cnf).toBeUndefined();
    expect((await storedSession(sub, victim.session_id)).jkt).toBeNull();

    // The real client comes back with its (now used) token after the grace window: its access
    // token lives minutes, the grace seconds. Without a key it meets rule 5, not the DPoP check.
    await ageSession(sub, victim.session_id, GRACE_MS + 1000);
    const from = Date.now();
    await expectInvalidGrant(await refreshWith(victim.refresh_token, null));
    const reuse = await onlyEvent(sub, "refresh_token_reuse", { from });
    expect(reuse.detail).toMatchObject({ generations_behind: 1, revoked_session_ids: expect.arrayContaining([victim.session_id, sibling.session_id]) });
    expect(await eventsOf(sub, "dpop_proof_failed")).toEqual([]);
    // The thief's session died with it, with or without its proof.
    await expectInvalidGrant(await refreshWith(thiefPair.refresh_token, thief));
    await expectInvalidGrant(await refreshWith(thiefPair.refresh_token, null));
    expect((await storedSession(sub, victim.session_id)).revoked_reason).toBe("reuse");
  });

  it("cannot take it inside the grace window either: its replay with a proof gets the real client's token as Bearer, and the real client refreshes on", async () => {
    const thief = await dpopClient();
    const sub = uniqueSub();
    const victim = await openSession(sub);
    const next = (await (await refreshWith(victim.refresh_token, null)).json()) as TokenResponse;
    const replayed = await refreshWith(victim.refresh_token, thief);
    expect(replayed.status).toBe(200);
    const thiefPair = (await replayed.json()) as TokenResponse;
    expect(thiefPair).toMatchObject({ token_type: "Bearer", refresh_token: next.refresh_token });
    expect((await storedSession(sub, victim.session_id)).jkt).toBeNull();
    // Not locked out: the real client's next refresh, without a key, rotates as before.
    const after = await refreshWith(next.refresh_token, null);
    expect(after.status).toBe(200);
    expect(await eventsOf(sub, "dpop_proof_failed")).toEqual([]);
    // And the thief, now a generation behind once the window has passed, is reuse.
    await ageSession(sub, victim.session_id, GRACE_MS + 1000);
    await expectInvalidGrant(await refreshWith(thiefPair.refresh_token, thief));
    expect(await eventsOf(sub, "refresh_token_reuse")).toHaveLength(1);
  });
});

describe("dpop_proof_failed, at most once a minute per session", () => {
  /** Lets the minute since the session's last dpop_proof_failed event pass (the window itself is a pure function, tested in storage-bounds.test.ts). */
  function letTheMinutePass(sub: string, sessionId: string) {
    return runInDurableObject(userAuthStub(sub), (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE sessions SET dpop_failure_event_at = dpop_failure_event_at - ? WHERE id = ?",
        DPOP_FAILURE_EVENT_INTERVAL_MS,
        sessionId,
      );
    });
  }

  it("records 20 refreshes with another key's proof as one event, and the next one after the minute with the count since", async () => {
    const client = await dpopClient();
    const thief = await dpopClient();
    const pair = await openBoundSession(client);
    const from = Date.now();
    for (let index = 0; index < 20; index += 1) await expectInvalidGrant(await refreshWith(pair.refresh_token, thief));
    const first = await onlyEvent(pair.sub, "dpop_proof_failed", { from });
    expect(first).toMatchObject({ session_id: pair.session_id, detail: { reason: "another_key", count: 1 } });

    await letTheMinutePass(pair.sub, pair.session_id);
    await expectInvalidGrant(await refreshWith(pair.refresh_token, null));
    const events = await eventsOf(pair.sub, "dpop_proof_failed");
    expect(events.map((event) => event.detail)).toEqual([
      { reason: "no_proof", count: 20 },
      { reason: "another_key", count: 1 },
    ]);
    // Nothing was rotated or revoked all along: the real client refreshes on.
    expect((await storedSession(pair.sub, pair.session_id)).generation).toBe(0);
    expect((await refreshWith(pair.refresh_token, client)).status).toBe(200);
  });

  it("counts each session on its own", async () => {
    const client = await dpopClient();
    const thief = await dpopClient();
    const sub = uniqueSub();
    const one = await openBoundSession(client, sub);
    const two = await openBoundSession(client, sub);
    for (const pair of [one, two, one, two]) await expectInvalidGrant(await refreshWith(pair.refresh_token, thief));
    const events = await eventsOf(sub, "dpop_proof_failed");
    expect(events.map((event) => event.session_id).sort()).toEqual([one.session_id, two.session_id].sort());
  });
});

describe("DPoP proofs that are not valid", () => {
  async function forgedProofs(client: DpopClient): Promise<Array<[string, string]>> {
    const now = Math.floor(Date.now() / 1000);
    const { privateKey: otherKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(client.privateKey);
    const unsigned = (header: object, payload: object) =>
      `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}.`;
    const hmacKey = new TextEncoder().encode(JSON.stringify(client.jwk));
    const claims = { htm: "POST", htu: "http://gateway.test/auth/refresh", jti: crypto.randomUUID(), iat: now };
    return [
      ["a wrong htm", await client.proof("POST", "/auth/refresh", { claims: { htm: "GET" } })],
      ["a wrong htu", await client.proof("POST", "/auth/refresh", { claims: { htu: "http://gateway.test/auth/login" } })],
      ["an htu on another host", await client.proof("POST", "/auth/refresh", { claims: { htu: "http://evil.test/auth/refresh" } })],
      ["a stale iat", await client.proof("POST", "/auth/refresh", { claims: { iat: now - 3600 } })],
      ["a future iat", await client.proof("POST", "/auth/refresh", { claims: { iat: now + 3600 } })],
      ["no jti", await client.proof("POST", "/auth/refresh", { claims: { jti: undefined } })],
      ["typ JWT", await client.proof("POST", "/auth/refresh", { header: { typ: "JWT" } })],
      ["the private key in its header", await client.proof("POST", "/auth/refresh", { header: { jwk: privateJwk } })],
      ["another key's signature", await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: client.jwk }).sign(otherKey)],
      ["alg none", unsigned({ alg: "none", typ: "dpop+jwt", jwk: client.jwk }, claims)],
      ["HMAC keyed with the public key", await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: client.jwk }).sign(hmacKey)],
      ["no jwk", await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "dpop+jwt" }).sign(client.privateKey)],
      ["garbage", "not.a.proof"],
    ];
  }

  it("refuses each with 400 invalid_dpop_proof on refresh and changes nothing", async () => {
    const client = await dpopClient();
    const pair = await openBoundSession(client);
    for (const [what, proof] of await forgedProofs(client)) {
      const response = await refreshWith(pair.refresh_token, client, proof);
      expect(response.status, what).toBe(400);
      expect(((await response.json()) as { error: string }).error, what).toBe("invalid_dpop_proof");
    }
    expect((await storedSession(pair.sub, pair.session_id)).generation).toBe(0);
    expect((await refreshWith(pair.refresh_token, client)).status).toBe(200);
  });

  it("refuses an invalid proof on login and on the admin route before opening a session", async () => {
    const client = await dpopClient();
    const { username } = await registerUser();
    const stale = await client.proof("POST", "/auth/login", { claims: { iat: Math.floor(Date.now() / 1000) - 3600 } });
    await expectError(await login(username, PASSWORD, { DPoP: stale }), 400, "invalid_dpop_proof");
    const sub = uniqueSub();
    const wrongPath = await client.proof("POST", "/auth/login");
    await expectError(await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, DPoP: wrongPath }), 400, "invalid_dpop_proof");
    expect(await eventsOf(sub)).toEqual([]);
  });
});

describe("bound access tokens at the gateway and the Bearer routes", () => {
  it("pass only as Authorization: DPoP with a proof of the bound key for this request and token", async () => {
    const client = await dpopClient();
    const pair = await openBoundSession(client);
    const response = await callApi(pair.access_token, client);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { headers: Record<string, string> }).headers["x-auth-user"]).toBe(pair.sub);
    const sessions = await callApi(pair.access_token, client, "/auth/sessions");
    expect(sessions.status).toBe(200);
  });

  it("answer 401 with a DPoP challenge as Bearer, without a proof, with another key's proof, or a proof for another token or path", async () => {
    const client = await dpopClient();
    const thief = await dpopClient();
    const pair = await openBoundSession(client);
    const other = await openBoundSession(client);
    const token = pair.access_token;
    const attempts: Array<[string, Record<string, string>]> = [
      ["as Bearer", bearer(token)],
      ["as Bearer with a proof", { ...bearer(token), DPoP: await client.proof("GET", "/api/me", { accessToken: token }) }],
      ["without a proof", { Authorization: `DPoP ${token}` }],
      ["with another key's proof", { Authorization: `DPoP ${token}`, DPoP: await thief.proof("GET", "/api/me", { accessToken: token }) }],
      ["with a proof for another token", { Authorization: `DPoP ${token}`, DPoP: await client.proof("GET", "/api/me", { accessToken: other.access_token }) }],
      ["with a proof for another path", { Authorization: `DPoP ${token}`, DPoP: await client.proof("GET", "/api/other", { accessToken: token }) }],
      ["with a proof without ath", { Authorization: `DPoP ${token}`, DPoP: await client.proof("GET", "/api/me") }],
    ];
    for (const [what, headers] of attempts) {
      const response = await call("/api/me", { headers });
      expect(response.status, what).toBe(401);
      expect(response.headers.get("WWW-Authenticate"), what).toMatch(/^DPoP realm="[^"]*", error="invalid_(token|dpop_proof)"/);
    }
  });

  it("refuse an unbound token sent with the DPoP scheme", async () => {
    const client = await dpopClient();
    const pair = (await (await postJson("/auth/admin/sessions", { sub: uniqueSub() }, adminHeaders)).json()) as TokenResponse;
    const response = await callApi(pair.access_token, client);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^DPoP /);
  });
});

describe("POST /auth/revoke (RFC 7009)", () => {
  function revoke(body: string) {
    return call("/auth/revoke", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body });
  }

  it("ends the session of a refresh token of any generation, like a logout, without reuse handling", async () => {
    const sub = uniqueSub();
    const first = (await (await postJson("/auth/admin/sessions", { sub }, adminHeaders)).json()) as TokenResponse;
    const second = (await (await postJson("/auth/refresh", { refresh_token: first.refresh_token })).json()) as TokenResponse;
    const response = await revoke(`token=${encodeURIComponent(first.refresh_token)}&token_type_hint=refresh_token`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toContain("no-store");
    await expectInvalidGrant(await postJson("/auth/refresh", { refresh_token: second.refresh_token }));
    expect(await eventsOf(sub, "logout")).toHaveLength(1);
    expect(await eventsOf(sub, "refresh_token_reuse")).toEqual([]);
  });

  it("answers 200 for any token, known or not, well-formed or not, and needs no proof for a bound session", async () => {
    for (const token of ["garbage", "rt1.nope", "x".repeat(2000)]) expect((await revoke(`token=${token}`)).status).toBe(200);
    const client = await dpopClient();
    const pair = await openBoundSession(client);
    expect((await revoke(`token=${encodeURIComponent(pair.refresh_token)}`)).status).toBe(200);
    expect((await storedSession(pair.sub, pair.session_id)).revoked_reason).toBe("logout");
  });

  it("answers 400 invalid_request when the token is missing", async () => {
    await expectError(await revoke("token_type_hint=refresh_token"), 400, "invalid_request");
  });
});

describe("GET /.well-known/oauth-authorization-server (RFC 8414)", () => {
  it("publishes the issuer, the endpoints, the grants, PKCE, RFC 9207 and DPoP algorithms", async () => {
    const response = await call("/.well-known/oauth-authorization-server");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      issuer: "http://127.0.0.1:8787",
      authorization_endpoint: "http://127.0.0.1:8787/auth/authorize",
      token_endpoint: "http://127.0.0.1:8787/auth/token",
      jwks_uri: "http://127.0.0.1:8787/.well-known/jwks.json",
      revocation_endpoint: "http://127.0.0.1:8787/auth/revoke",
      grant_types_supported: ["authorization_code", "refresh_token"],
      response_types_supported: ["code"],
      token_endpoint_auth_methods_supported: ["none"],
      revocation_endpoint_auth_methods_supported: ["none"],
      dpop_signing_alg_values_supported: ["ES256", "EdDSA"],
      code_challenge_methods_supported: ["S256"],
      authorization_response_iss_parameter_supported: true,
    } satisfies AuthorizationServerMetadata);
  });
});
