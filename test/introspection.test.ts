import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import type { IntrospectionResponse } from "../src/wire";
import { dpopClient } from "./dpop-proofs";
import {
  ADMIN_TOKEN,
  accessTokenClaims,
  adminHeaders,
  ageSession,
  bearer,
  call,
  expectError,
  login,
  openSession,
  pairOf,
  postJson,
  refresh,
  registerUser,
  sessionOfNewUser,
  signedWithTestKey,
  streamed,
  type Vars,
  PASSWORD,
  userAuthStub,
} from "./helpers";

// POST /auth/introspect (RFC 7662): whether an access token is active right now, answered from
// the user's Durable Object, for each state a token and its session can be in, and who may ask.

const INTROSPECTION_TOKEN = "introspection-token-of-the-tests-0123456789";
const DAY_MS = 86_400_000;

/** POST /auth/introspect as RFC 7662 section 2.1 has it: a form, with the caller's Bearer token. */
function introspect(token: string, { auth = ADMIN_TOKEN, vars }: { auth?: string | null; vars?: Vars } = {}) {
  return call(
    "/auth/introspect",
    {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...(auth === null ? {} : bearer(auth)) },
      body: new URLSearchParams({ token }),
    },
    vars,
  );
}

async function answerOf(response: Response): Promise<IntrospectionResponse> {
  expect(response.status).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  return response.json();
}

/** The answer an active token of `pair` gets: every field from the token itself. */
function activeAnswer(accessToken: string, tokenType: "Bearer" | "DPoP" = "Bearer") {
  const claims = decodeJwt(accessToken);
  return {
    active: true,
    sub: claims.sub,
    sid: claims.sid,
    exp: claims.exp,
    iat: claims.iat,
    amr: claims.amr,
    auth_time: claims.auth_time,
    token_type: tokenType,
    ...(claims.cnf ? { cnf: claims.cnf } : {}),
  };
}

describe("POST /auth/introspect: the token's state", () => {
  it("answers active with who, which session, its times and how the user signed in, not cacheable", async () => {
    const { access_token, sub, session_id } = await sessionOfNewUser("introspect");
    const answer = await answerOf(await introspect(access_token));
    expect(answer).toEqual(activeAnswer(access_token));
    expect(answer).toMatchObject({ sub, sid: session_id, amr: ["adm"], token_type: "Bearer" });
  });

  it("answers a password session's token with amr pwd and its auth_time", async () => {
    const { username } = await registerUser();
    const pair = await pairOf(await login(username, PASSWORD));
    expect(await answerOf(await introspect(pair.access_token))).toEqual({ ...activeAnswer(pair.access_token), amr: ["pwd"] });
  });

  it("answers a DPoP-bound token with token_type DPoP and the thumbprint of its key, without needing a proof", async () => {
    const client = await dpopClient();
    const sub = `introspect-dpop-${crypto.randomUUID()}`;
    const opened = await postJson("/auth/admin/sessions", { sub }, { ...adminHeaders, DPoP: await client.proof("POST", "/auth/admin/sessions") });
    expect(opened.status).toBe(201);
    const { access_token, token_type } = (await opened.json()) as { access_token: string; token_type: string };
    expect(token_type).toBe("DPoP");
    const answer = await answerOf(await introspect(access_token));
    expect(answer).toEqual(activeAnswer(access_token, "DPoP"));
    expect(answer).toMatchObject({ token_type: "DPoP", cnf: { jkt: client.jkt } });
  });

  it("stays active for an earlier access token of the session after a refresh: activity is the session's", async () => {
    const { access_token, refresh_token } = await sessionOfNewUser("introspect");
    await pairOf(await refresh(refresh_token));
    expect(await answerOf(await introspect(access_token))).toMatchObject({ active: true });
  });

  it.each([
    ["a logout", (pair: { refresh_token: string }) => postJson("/auth/logout", { refresh_token: pair.refresh_token })],
    ["DELETE /auth/sessions/:id", (pair: { access_token: string; session_id: string }) => call(`/auth/sessions/${pair.session_id}`, { method: "DELETE", headers: bearer(pair.access_token) })],
    ["logout-all", (pair: { access_token: string }) => call("/auth/logout-all", { method: "POST", headers: bearer(pair.access_token) })],
    ["the admin revoking the user", (pair: { sub: string }) => postJson(`/auth/admin/users/${pair.sub}/revoke`, {}, adminHeaders)],
  ])("answers inactive the moment the session is revoked by %s, while the token itself has not expired", async (_how, revoke) => {
    const pair = await sessionOfNewUser("introspect");
    expect(await answerOf(await introspect(pair.access_token))).toMatchObject({ active: true });
    expect((await revoke(pair)).status).toBe(204);
    expect(await answerOf(await introspect(pair.access_token))).toEqual({ active: false });
  });

  it("answers inactive once the session is reused: every session of the user is revoked", async () => {
    const pair = await sessionOfNewUser("introspect");
    const next = await pairOf(await refresh(pair.refresh_token));
    await pairOf(await refresh(next.refresh_token));
    // A token two generations back: reuse, whatever the grace window.
    expect((await refresh(pair.refresh_token)).status).toBe(400);
    expect(await answerOf(await introspect(next.access_token))).toEqual({ active: false });
  });

  it("answers inactive for a session past its idle limit, though its access token would still verify", async () => {
    const pair = await sessionOfNewUser("introspect");
    await ageSession(pair.sub, pair.session_id, 15 * DAY_MS);
    expect(await answerOf(await introspect(pair.access_token))).toEqual({ active: false });
  });

  it("answers inactive for a token signed with the gateway's key whose session does not exist", async () => {
    const { sub } = await sessionOfNewUser("introspect");
    const token = await signedWithTestKey(accessTokenClaims({ sub, sid: crypto.randomUUID() }));
    expect(await answerOf(await introspect(token))).toEqual({ active: false });
  });

  it("answers the same token active until its session ends, and never again", async () => {
    const pair = await sessionOfNewUser("introspect");
    const answers = await Promise.all(Array.from({ length: 10 }, () => introspect(pair.access_token).then(answerOf)));
    expect(answers.every((answer) => answer.active)).toBe(true);
    await postJson("/auth/logout", { refresh_token: pair.refresh_token });
    const after = await Promise.all(Array.from({ length: 10 }, () => introspect(pair.access_token).then(answerOf)));
    expect(after).toEqual(Array.from({ length: 10 }, () => ({ active: false })));
  });
});

describe("POST /auth/introspect: what it keeps", () => {
  it("writes nothing: a hundred introspections, active or not, leave the user's object as it was", async () => {
    const pair = await sessionOfNewUser("introspect");
    const snapshot = () =>
      runInDurableObject(userAuthStub(pair.sub), (_instance, state) => ({
        size: state.storage.sql.databaseSize,
        sessions: state.storage.sql.exec("SELECT * FROM sessions").toArray(),
        outbox: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n,
      }));
    const before = await snapshot();
    const forged = await signedWithTestKey(accessTokenClaims({ sub: pair.sub, sid: crypto.randomUUID() }));
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => introspect(i % 2 ? forged : pair.access_token).then(answerOf)));
    expect(answers.filter((answer) => answer.active)).toHaveLength(50);
    expect(await snapshot()).toEqual(before);
  });
});

describe("POST /auth/introspect: tokens that are not active", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const flipLast = (jwt: string) => `${jwt.slice(0, -10)}${jwt.at(-10) === "A" ? "B" : "A"}${jwt.slice(-9)}`;

  it.each<[string, (pair: { sub: string; access_token: string; session_id: string; refresh_token: string }) => Promise<string> | string]>([
    ["expired", (pair) => signedWithTestKey(accessTokenClaims({ sub: pair.sub, sid: pair.session_id, iat: now() - 400, exp: now() - 100 }))],
    ["of another audience", (pair) => signedWithTestKey(accessTokenClaims({ sub: pair.sub, sid: pair.session_id, aud: "another-api" }))],
    ["of another issuer", (pair) => signedWithTestKey(accessTokenClaims({ sub: pair.sub, sid: pair.session_id, iss: "https://issuer.example" }))],
    ["with a forged signature", (pair) => flipLast(pair.access_token)],
    ["padded, not in its one spelling", (pair) => `${pair.access_token}==`],
    ["a refresh token", (pair) => pair.refresh_token],
    ["malformed", () => "not.a.jwt"],
    ["empty", () => ""],
    ["8 KiB of garbage", () => "a".repeat(8193)],
    ["not text at all", () => "\u0000\uFFFD☃"],
  ])("answers {active:false} to a token %s, for a session that is active", async (_what, make) => {
    const pair = await sessionOfNewUser("introspect");
    expect(await answerOf(await introspect(await make(pair)))).toEqual({ active: false });
    // The control: the session's own token is active.
    expect(await answerOf(await introspect(pair.access_token))).toMatchObject({ active: true });
  });
});

describe("POST /auth/introspect: who may ask, and what it takes", () => {
  const withIntrospectionToken: Vars = { INTROSPECTION_TOKEN };

  it("accepts INTROSPECTION_TOKEN, and the admin token beside it", async () => {
    const { access_token } = await sessionOfNewUser("introspect");
    expect(await answerOf(await introspect(access_token, { auth: INTROSPECTION_TOKEN, vars: withIntrospectionToken }))).toMatchObject({ active: true });
    expect(await answerOf(await introspect(access_token, { auth: ADMIN_TOKEN, vars: withIntrospectionToken }))).toMatchObject({ active: true });
  });

  it.each<[string, string | null, Vars | undefined]>([
    ["no Authorization", null, withIntrospectionToken],
    ["a wrong token", "wrong-token", withIntrospectionToken],
    ["the introspection token's first half", INTROSPECTION_TOKEN.slice(0, 20), withIntrospectionToken],
    ["the introspection token while INTROSPECTION_TOKEN is unset", INTROSPECTION_TOKEN, undefined],
    ["a user's access token", "user", withIntrospectionToken],
  ])("answers 401 unauthorized to %s, with a Bearer challenge", async (_what, auth, vars) => {
    const { access_token } = await sessionOfNewUser("introspect");
    const response = await introspect(access_token, { auth: auth === "user" ? access_token : auth, vars });
    await expectError(response, 401, "unauthorized");
    expect(response.headers.get("WWW-Authenticate")).toBe(`Bearer realm="introspection"`);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  });

  it("answers 401 when neither the admin token nor an introspection token is set", async () => {
    const { access_token } = await sessionOfNewUser("introspect");
    await expectError(await introspect(access_token, { auth: ADMIN_TOKEN, vars: { ADMIN_API_TOKEN: "" } }), 401, "unauthorized");
  });

  it("answers 503 naming INTROSPECTION_TOKEN when it is shorter than 32 characters", async () => {
    const { access_token } = await sessionOfNewUser("introspect");
    const description = await expectError(await introspect(access_token, { vars: { INTROSPECTION_TOKEN: "short" } }), 503, "server_misconfigured");
    expect(description).toMatch(/^INTROSPECTION_TOKEN /);
    expect(description).not.toContain("short");
  });

  it("answers 400 invalid_request without token, or with it twice, before it checks who asks", async () => {
    const form = (body: string, auth: Record<string, string>) =>
      call("/auth/introspect", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth }, body });
    await expectError(await form("", adminHeaders), 400, "invalid_request");
    await expectError(await form("token_type_hint=access_token", adminHeaders), 400, "invalid_request");
    await expectError(await form("token=a&token=b", adminHeaders), 400, "invalid_request");
    await expectError(await form("", {}), 400, "invalid_request");
  });

  it("takes the same fields as JSON, and refuses other media types and huge bodies with the contract's answers", async () => {
    const { access_token } = await sessionOfNewUser("introspect");
    expect(await answerOf(await postJson("/auth/introspect", { token: access_token }, adminHeaders))).toMatchObject({ active: true });
    await expectError(await postJson("/auth/introspect", { token: 42 }, adminHeaders), 400, "invalid_request");
    await expectError(await postJson("/auth/introspect", ["token"], adminHeaders), 400, "invalid_request");
    await expectError(await call("/auth/introspect", { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/json" }, body: "{" }), 400, "invalid_request");
    await expectError(await call("/auth/introspect", { method: "POST", headers: { ...adminHeaders, "Content-Type": "text/plain" }, body: access_token }), 415, "unsupported_media_type");
    const huge = `token=${"a".repeat(20_000)}`;
    await expectError(await call("/auth/introspect", { method: "POST", headers: { ...adminHeaders, "Content-Type": "application/x-www-form-urlencoded" }, body: huge }), 413, "request_too_large");
    const chunked = await call("/auth/introspect", {
      method: "POST",
      headers: { ...adminHeaders, "Content-Type": "application/x-www-form-urlencoded" },
      body: streamed(huge),
      duplex: "half",
    } as RequestInit);
    await expectError(chunked, 413, "request_too_large");
  });

  it("answers 405 with Allow: POST to another method", async () => {
    const response = await call("/auth/introspect", { headers: adminHeaders });
    await expectError(response, 405, "method_not_allowed");
    expect(response.headers.get("Allow")).toBe("POST");
  });
});

describe("oauth4webapi as the resource server's client", () => {
  const ISSUER = new URL("http://127.0.0.1:8787");
  const toWorker = ((url: string, init: RequestInit) => exports.default.fetch(new Request(url, init))) as typeof fetch;
  const client: oauth.Client = { client_id: "origin-api" };
  const options = { [oauth.customFetch]: toWorker, [oauth.allowInsecureRequests]: true };
  // The gateway authenticates introspection callers with a Bearer token (RFC 7662 section 2.1
  // allows one), not with client credentials: oauth4webapi takes that as a client authentication of its own.
  const bearerAuth: oauth.ClientAuth = (_as, _client, _body, headers) => {
    headers.set("Authorization", `Bearer ${ADMIN_TOKEN}`);
  };

  it("finds introspection_endpoint in the metadata and introspects with introspectionRequest and processIntrospectionResponse", async () => {
    const as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
    expect(as.introspection_endpoint).toBe("http://127.0.0.1:8787/auth/introspect");

    const pair = await openSession(`introspect-oauth-${crypto.randomUUID()}`);
    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearerAuth, pair.access_token, options));
    expect(active).toEqual(activeAnswer(pair.access_token));

    await postJson("/auth/logout", { refresh_token: pair.refresh_token });
    const revoked = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearerAuth, pair.access_token, options));
    expect(revoked).toEqual({ active: false });
  });
});
