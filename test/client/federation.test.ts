import { describe, expect, it } from "vitest";
import { AuthClientError } from "../../src/client";
import { clientFor, GATEWAY } from "./clients";
import { FakeGateway, FakeStorage } from "./fake-gateway";

// The client's half of a sign-in through an upstream provider: the authorization URL with PKCE
// and state (kept in this tab's sessionStorage), and the answer at the redirect URI checked
// (state, iss) and exchanged at /auth/token.

const APP = { clientId: "web", redirectUri: "https://app.example.com/callback" };

function setUp() {
  const gateway = new FakeGateway();
  const sessionStorage = new FakeStorage();
  const client = clientFor(gateway, {}, { sessionStorage });
  return { gateway, client, sessionStorage };
}

async function started(client: ReturnType<typeof setUp>["client"], provider: string | null = "google") {
  const url = new URL(await client.signInUrl(APP, provider));
  return { url, state: url.searchParams.get("state")!, challenge: url.searchParams.get("code_challenge")! };
}

describe("signInUrl and completeSignIn", () => {
  it("sends the browser to /auth/authorize with PKCE S256 and state, and exchanges the answer's code with the verifier", async () => {
    const { gateway, client } = setUp();
    const { url, state, challenge } = await started(client);
    expect(url.origin + url.pathname).toBe(`${GATEWAY}/auth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: APP.clientId,
      redirect_uri: APP.redirectUri,
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: "S256",
      state: expect.any(String),
      provider: "google",
    });
    gateway.codes.set("code-1", challenge);
    const session = await client.completeSignIn(`${APP.redirectUri}?code=code-1&state=${state}&iss=${encodeURIComponent(GATEWAY)}`);
    expect(session).toMatchObject({ sessionId: "s1", tokenType: "Bearer" });
    expect(client.session?.sessionId).toBe("s1");
    expect(JSON.parse(gateway.calls("/auth/token")[0]!.body)).toMatchObject({ grant_type: "authorization_code", code: "code-1", client_id: "web", redirect_uri: APP.redirectUri });
  });

  it("leaves provider out for the gateway's page of providers", async () => {
    const { client } = setUp();
    expect((await started(client, null)).url.searchParams.has("provider")).toBe(false);
  });

  it("refuses an answer with a state this tab did not start, or naming another issuer (RFC 9207), and exchanges nothing", async () => {
    const { gateway, client } = setUp();
    const { state, challenge } = await started(client);
    gateway.codes.set("code-1", challenge);
    await expect(client.completeSignIn(`${APP.redirectUri}?code=code-1&state=other&iss=${encodeURIComponent(GATEWAY)}`)).rejects.toMatchObject({ code: "sign_in_failed" });
    await expect(client.completeSignIn(`${APP.redirectUri}?code=code-1&state=${state}&iss=https%3A%2F%2Fevil.example`)).rejects.toMatchObject({ code: "sign_in_failed" });
    // The state is spent by the first answer that names it: a second try is refused too.
    await expect(client.completeSignIn(`${APP.redirectUri}?code=code-1&state=${state}&iss=${encodeURIComponent(GATEWAY)}`)).rejects.toMatchObject({ code: "sign_in_failed" });
    expect(gateway.calls("/auth/token")).toEqual([]);
  });

  it("rejects with the answer's error, and answers null to a URL that carries none", async () => {
    const { client } = setUp();
    const { state } = await started(client);
    const error = await client.completeSignIn(`${APP.redirectUri}?error=access_denied&state=${state}&iss=${encodeURIComponent(GATEWAY)}`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthClientError);
    expect((error as AuthClientError).code).toBe("access_denied");
    expect(await client.completeSignIn(`${APP.redirectUri}?page=2`)).toBeNull();
  });
});
