import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { MAX_LINK_TICKETS_PER_USER } from "../../src/sessions/authorization-codes";
import { bearer, drainEvents, eventsOf, openSession, PASSWORD, uniqueUsername, userAuthStub, withD1TableOffline } from "../helpers";
import { exchangeLanded, follow, ISSUER, parametersOf, signInAt, TestBrowser, toWorker, uniqueAccount } from "./flow";
import { LINK_RETURN, LOCAL_CONFIDENTIAL, LOCAL_PUBLIC } from "./settings";
import { deliveriesAbout } from "../webhook-receiver-client";

// Linking is explicit: a signed-in user asks for a one-time URL, and its trip through the
// provider links that identity to them, never another user's, never by e-mail. Unlinking keeps at
// least one way in.

async function identitiesOfUser(userId: string) {
  const { results } = await env.DB.prepare("SELECT provider, subject FROM identities WHERE user_id = ?1 ORDER BY provider").bind(userId).all();
  return results;
}

function gateway(path: string, init: { method: string; token: string; body?: unknown }) {
  return toWorker(`${ISSUER}${path}`, {
    method: init.method,
    headers: { ...bearer(init.token), ...(init.body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

async function linkUrl(accessToken: string, provider: string): Promise<string> {
  const response = await gateway("/auth/identities", { method: "POST", token: accessToken, body: { provider } });
  expect(response.status).toBe(200);
  const { authorize_url } = (await response.json()) as { authorize_url: string };
  expect(authorize_url).toMatch(new RegExp(`^${ISSUER}/auth/authorize\\?link=lt1\\.`));
  return authorize_url;
}

/** Follows a link URL through the local provider as `login` and returns where it landed. */
async function linkAs(url: string, login: string) {
  const result = await follow(new TestBrowser(), url, { login }, (target) => target.href.startsWith(LINK_RETURN));
  if (!("landed" in result)) return { response: result.response };
  return { landed: result.landed };
}

/** A federated user, signed in: their id and access token. */
async function federatedUser(provider = LOCAL_CONFIDENTIAL.id, login = uniqueAccount()) {
  const tokens = await exchangeLanded(await signInAt(provider, { login }));
  return { sub: decodeJwt(tokens.access_token).sub!, accessToken: tokens.access_token, login };
}

/** A password user, logged in. */
async function passwordUser() {
  const username = uniqueUsername();
  const ip = { "CF-Connecting-IP": `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` };
  const register = await toWorker(`${ISSUER}/auth/register`, { method: "POST", headers: { "Content-Type": "application/json", ...ip }, body: JSON.stringify({ username, password: PASSWORD }) });
  const { user_id } = (await register.json()) as { user_id: string };
  const login = await toWorker(`${ISSUER}/auth/login`, { method: "POST", headers: { "Content-Type": "application/json", ...ip }, body: JSON.stringify({ username, password: PASSWORD }) });
  return { sub: user_id, accessToken: ((await login.json()) as { access_token: string }).access_token };
}

describe("POST /auth/identities", () => {
  it("links another provider's identity to the signed-in user: linked=<provider>, an identity_linked event, and it signs in as that user", async () => {
    const user = await passwordUser();
    const account = uniqueAccount();
    const { landed } = await linkAs(await linkUrl(user.accessToken, LOCAL_PUBLIC.id), account);
    expect(landed!.origin + landed!.pathname).toBe(LINK_RETURN);
    expect(parametersOf(landed!)).toEqual({ linked: LOCAL_PUBLIC.id });
    expect(await identitiesOfUser(user.sub)).toEqual([{ provider: LOCAL_PUBLIC.id, subject: account }]);
    expect((await eventsOf(user.sub, "identity_linked"))[0]!.detail).toEqual({ provider: LOCAL_PUBLIC.id });
    // Selected by WEBHOOK_EVENTS (test/federation/settings.ts): the receiver got it, signed.
    await drainEvents();
    expect((await deliveriesAbout(user.sub)).map((delivery) => [delivery.payload.type, delivery.verified])).toEqual([["identity_linked", true]]);

    // From now on that identity signs in as this user.
    const tokens = await exchangeLanded(await signInAt(LOCAL_PUBLIC.id, { login: account }));
    expect(decodeJwt(tokens.access_token).sub).toBe(user.sub);
  });

  it("refuses to link an identity that belongs to another user: error=identity_taken, nothing changed", async () => {
    const owner = await federatedUser(LOCAL_PUBLIC.id);
    const user = await passwordUser();
    const { landed } = await linkAs(await linkUrl(user.accessToken, LOCAL_PUBLIC.id), owner.login);
    expect(parametersOf(landed!)).toEqual({ error: "identity_taken" });
    expect(await identitiesOfUser(user.sub)).toEqual([]);
    expect(await identitiesOfUser(owner.sub)).toEqual([{ provider: LOCAL_PUBLIC.id, subject: owner.login }]);
  });

  it("answers 409 identity_taken when the user already has an identity of that provider", async () => {
    const user = await federatedUser(LOCAL_CONFIDENTIAL.id);
    const response = await gateway("/auth/identities", { method: "POST", token: user.accessToken, body: { provider: LOCAL_CONFIDENTIAL.id } });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toBe("identity_taken");
  });

  it("makes the link URL one-time: a second trip is 400 JSON", async () => {
    const user = await passwordUser();
    const url = await linkUrl(user.accessToken, LOCAL_PUBLIC.id);
    await linkAs(url, uniqueAccount());
    const again = await new TestBrowser().request(url);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe("invalid_request");
  });

  it("answers 400 to an unknown provider and 401 without a token", async () => {
    const user = await passwordUser();
    const unknown = await gateway("/auth/identities", { method: "POST", token: user.accessToken, body: { provider: "nope" } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe("invalid_request");
    const anonymous = await toWorker(`${ISSUER}/auth/identities`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"provider":"local"}' });
    expect(anonymous.status).toBe(401);
  });

  it(`keeps at most ${MAX_LINK_TICKETS_PER_USER} link tickets per user`, async () => {
    const user = await passwordUser();
    const urls = [];
    for (let round = 0; round < MAX_LINK_TICKETS_PER_USER + 5; round += 1) urls.push(await linkUrl(user.accessToken, LOCAL_PUBLIC.id));
    expect((await userAuthStub(user.sub).federation().counts()).linkTickets).toBe(MAX_LINK_TICKETS_PER_USER);
    // The newest still work; the oldest are gone.
    expect((await new TestBrowser().request(urls[0]!)).status).toBe(400);
    expect((await new TestBrowser().request(urls.at(-1)!)).status).toBe(302);
  });
});

describe("DELETE /auth/identities/:provider", () => {
  it("unlinks an identity while another way in is left: 204 and identity_unlinked", async () => {
    const user = await passwordUser();
    await linkAs(await linkUrl(user.accessToken, LOCAL_PUBLIC.id), uniqueAccount());
    expect((await gateway(`/auth/identities/${LOCAL_PUBLIC.id}`, { method: "DELETE", token: user.accessToken })).status).toBe(204);
    expect(await identitiesOfUser(user.sub)).toEqual([]);
    expect((await eventsOf(user.sub, "identity_unlinked"))[0]!.detail).toEqual({ provider: LOCAL_PUBLIC.id });
    expect((await gateway(`/auth/identities/${LOCAL_PUBLIC.id}`, { method: "DELETE", token: user.accessToken })).status).toBe(404);
    // Both webhooks reached the receiver, once each (the second DELETE changed nothing and sent nothing).
    await drainEvents();
    expect((await deliveriesAbout(user.sub)).map((delivery) => [delivery.payload.type, delivery.verified])).toEqual([
      ["identity_linked", true],
      ["identity_unlinked", true],
    ]);
  });

  it("refuses to unlink the only way in with 409 last_sign_in_method", async () => {
    const user = await federatedUser();
    const response = await gateway(`/auth/identities/${LOCAL_CONFIDENTIAL.id}`, { method: "DELETE", token: user.accessToken });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { error: string }).error).toBe("last_sign_in_method");
    expect(await identitiesOfUser(user.sub)).toHaveLength(1);
    expect(await eventsOf(user.sub, "identity_unlinked")).toEqual([]);
  });

  it("lets only one of two parallel unlinks of a user's last two identities through", async () => {
    const user = await federatedUser(LOCAL_CONFIDENTIAL.id);
    await linkAs(await linkUrl(user.accessToken, LOCAL_PUBLIC.id), uniqueAccount());
    const responses = await Promise.all(
      [LOCAL_CONFIDENTIAL.id, LOCAL_PUBLIC.id].map((provider) => gateway(`/auth/identities/${provider}`, { method: "DELETE", token: user.accessToken })),
    );
    expect(responses.map((response) => response.status).sort()).toEqual([204, 409]);
    expect(await identitiesOfUser(user.sub)).toHaveLength(1);
  });

  it("answers 404 for a provider the user has no identity of, a malformed one, and a user with no identities", async () => {
    const session = await openSession(`admin-${crypto.randomUUID()}`);
    for (const provider of ["nope", "UPPER", "x".repeat(40)]) {
      expect((await gateway(`/auth/identities/${provider}`, { method: "DELETE", token: session.access_token })).status).toBe(404);
    }
  });

  it("answers 503 when D1 is away", async () => {
    const user = await federatedUser();
    await withD1TableOffline("identities", async () => {
      const response = await gateway(`/auth/identities/${LOCAL_CONFIDENTIAL.id}`, { method: "DELETE", token: user.accessToken });
      expect(response.status).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("5");
    });
  });
});
