import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_CODES_PER_USER } from "../../src/sessions/authorization-codes";
import { dpopClient } from "../dpop-proofs";
import { eventsOf, userAuthStub, withD1TableOffline } from "../helpers";
import { exchangeLanded, ISSUER, signInAt, TestBrowser, tokenRequest, toWorker, uniqueAccount } from "./flow";
import { LOCAL_CONFIDENTIAL, MOBILE, SPA } from "./settings";

// POST /auth/token with the authorization code grant: single-use 60 s codes bound to the client,
// the redirect URI and the PKCE challenge, spent in the user's object together with the opening
// of the session; a second use revokes that session (RFC 6749 section 10.5). And the refresh
// grant, which is POST /auth/refresh.

type SignedIn = Awaited<ReturnType<typeof signInAt>>;

function fieldsOf(signedIn: SignedIn, change: Record<string, string> = {}) {
  return {
    grant_type: "authorization_code",
    code: signedIn.landed.searchParams.get("code")!,
    redirect_uri: signedIn.client.redirectUri,
    client_id: signedIn.client.clientId,
    code_verifier: signedIn.verifier,
    ...change,
  };
}

async function expectError(response: Response, error: string) {
  expect(response.status).toBe(400);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  expect(await response.json()).toEqual({ error, error_description: expect.any(String) });
}

async function userOf(signedIn: SignedIn): Promise<string> {
  const [, objectId] = signedIn.landed.searchParams.get("code")!.split(".");
  const row = await env.DB.prepare("SELECT user_id FROM identities ORDER BY created_at DESC LIMIT 50").all<{ user_id: string }>();
  return row.results.map((entry) => entry.user_id).find((userId) => env.USER_AUTH.idFromName(userId).toString() === objectId)!;
}

const sessionsOf = async (sub: string) => ((await userAuthStub(sub).listSessions()) as Array<{ id: string }>).map((session) => session.id);

describe("POST /auth/token, grant_type=authorization_code", () => {
  it("opens the session once: a second use of the code is refused and revokes the session the first opened", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const tokens = await exchangeLanded(signedIn);
    const sub = decodeJwt(tokens.access_token).sub!;
    expect(await sessionsOf(sub)).toEqual([tokens.session_id]);

    await expectError(await tokenRequest(fieldsOf(signedIn)), "invalid_grant");
    expect(await sessionsOf(sub)).toEqual([]);
    expect((await eventsOf(sub, "session_revoked"))[0]!.detail).toEqual({ reason: "authorization_code_reuse" });
  });

  it("refuses the code with another verifier, client or redirect URI, and then still exchanges it with the right ones", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    await expectError(await tokenRequest(fieldsOf(signedIn, { code_verifier: "x".repeat(43) })), "invalid_grant");
    await expectError(await tokenRequest(fieldsOf(signedIn, { client_id: MOBILE.clientId })), "invalid_grant");
    await expectError(await tokenRequest(fieldsOf(signedIn, { redirect_uri: "https://app.example.test/other" })), "invalid_grant");
    await expectError(await tokenRequest(fieldsOf(signedIn, { redirect_uri: `${SPA.redirectUri}/` })), "invalid_grant");
    // Whoever lacks the verifier learns nothing and ends nothing: the code still works for its app.
    await exchangeLanded(signedIn);
  });

  it("does not revoke the session when the second use comes without the verifier", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const tokens = await exchangeLanded(signedIn);
    await expectError(await tokenRequest(fieldsOf(signedIn, { code_verifier: "y".repeat(43) })), "invalid_grant");
    expect(await sessionsOf(decodeJwt(tokens.access_token).sub!)).toEqual([tokens.session_id]);
  });

  it("lets exactly one of ten parallel exchanges of one code open a session", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const responses = await Promise.all(Array.from({ length: 10 }, () => tokenRequest(fieldsOf(signedIn))));
    expect(responses.map((response) => response.status).sort()).toEqual([200, ...Array(9).fill(400)]);
    const sub = await userOf(signedIn);
    // The nine later uses were reuse: the one session is revoked again (RFC 6749 section 10.5).
    expect(await sessionsOf(sub)).toEqual([]);
    expect((await eventsOf(sub, "login")).length).toBe(1);
  });

  it("refuses an unknown client with invalid_client, and unknown, forged or malformed codes with invalid_grant", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    await expectError(await tokenRequest(fieldsOf(signedIn, { client_id: "not-registered" })), "invalid_client");
    const [, objectId] = fieldsOf(signedIn).code.split(".");
    for (const code of ["nope", `ac1.${objectId}.${"A".repeat(43)}`, `ac1.${"0".repeat(64)}.${"A".repeat(43)}`, `ac1.${objectId}.${"A".repeat(42)}B`]) {
      await expectError(await tokenRequest(fieldsOf(signedIn, { code })), "invalid_grant");
    }
    await exchangeLanded(signedIn);
  });

  it.each([
    ["grant_type missing", { grant_type: "" }, "invalid_request"],
    ["grant_type unknown", { grant_type: "password" }, "unsupported_grant_type"],
    ["client_id missing", { client_id: "" }, "invalid_request"],
    ["code missing", { code: "" }, "invalid_request"],
    ["redirect_uri missing", { redirect_uri: "" }, "invalid_request"],
    ["code_verifier missing", { code_verifier: "" }, "invalid_request"],
    ["code_verifier too short", { code_verifier: "a".repeat(42) }, "invalid_request"],
    ["code_verifier too long", { code_verifier: "a".repeat(129) }, "invalid_request"],
    ["code_verifier with a character PKCE forbids", { code_verifier: `${"a".repeat(42)}+` }, "invalid_request"],
  ])("answers %s with %s", async (_what, change, error) => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const fields = Object.fromEntries(Object.entries(fieldsOf(signedIn, change)).filter(([, value]) => value !== ""));
    await expectError(await tokenRequest(fields), error);
  });

  it("refuses a parameter sent twice with invalid_request", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const body = `${new URLSearchParams(fieldsOf(signedIn))}&code=${fieldsOf(signedIn).code}`;
    await expectError(
      await toWorker(`${ISSUER}/auth/token`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }),
      "invalid_request",
    );
  });

  it("binds the session to the DPoP key of the exchange, as login does", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const key = await dpopClient();
    const response = await tokenRequest(fieldsOf(signedIn), { DPoP: await key.proof("POST", "/auth/token", { claims: { htu: `${ISSUER}/auth/token` } }) });
    expect(response.status).toBe(200);
    const tokens = (await response.json()) as { access_token: string; token_type: string; refresh_token: string };
    expect(tokens.token_type).toBe("DPoP");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    // Its refresh, at /auth/token as at /auth/refresh, needs that key.
    await expectError(await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }), "invalid_grant");
  });

  it("refuses a code past its 60 seconds", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    const sub = await userOf(signedIn);
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(userAuthStub(sub), (_instance, state) => state.storage.sql.exec("UPDATE authorization_codes SET expires_at = ?", Date.now() - 1));
    await expectError(await tokenRequest(fieldsOf(signedIn)), "invalid_grant");
    expect(await sessionsOf(sub)).toEqual([]);
  });

  it("keeps working while D1 is away: the code and the session both live in the user's object", async () => {
    const signedIn = await signInAt(LOCAL_CONFIDENTIAL.id);
    await withD1TableOffline("identities", async () => {
      await exchangeLanded(signedIn);
    });
  });

  it(`keeps at most ${MAX_CODES_PER_USER} codes per user, however many sign-ins`, async () => {
    const account = uniqueAccount();
    const browser = new TestBrowser();
    let last!: SignedIn;
    for (let round = 0; round < MAX_CODES_PER_USER + 5; round += 1) last = await signInAt(LOCAL_CONFIDENTIAL.id, { login: account }, browser);
    const counts = await userAuthStub(await userOf(last)).federation().counts();
    expect(counts.codes).toBe(MAX_CODES_PER_USER);
    await exchangeLanded(last);
  }, 60_000);
});

describe("POST /auth/token, grant_type=refresh_token", () => {
  it("is POST /auth/refresh: a new pair, the old token spent, its reuse refused", async () => {
    const tokens = await exchangeLanded(await signInAt(LOCAL_CONFIDENTIAL.id));
    const refreshed = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    const pair = (await refreshed.json()) as { refresh_token: string; session_id: string };
    expect(pair.session_id).toBe(tokens.session_id);
    await expectError(await tokenRequest({ grant_type: "refresh_token" }), "invalid_request");
    await expectError(await tokenRequest({ grant_type: "refresh_token", refresh_token: "forged" }), "invalid_grant");
  });
});
