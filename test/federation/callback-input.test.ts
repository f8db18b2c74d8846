import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sealTransaction } from "../../src/federation/transaction";
import { loadKeyRing } from "../../src/tokens/key-ring";
import { withD1TableOffline } from "../helpers";
import { appRequest, follow, ISSUER, parametersOf, TestBrowser, untilCallback, uniqueAccount } from "./flow";
import { LOCAL_CONFIDENTIAL, SPA } from "./settings";

// GET /auth/oidc/callback with what an attacker or a broken flow brings: no cookie (a callback
// URL carried to another browser), a forged, tampered, doubled or stale cookie, a state that is
// not the transaction's, a replay of a finished callback, the user declining at the provider, D1
// away. A callback with no valid transaction is 400 JSON; every other failure goes back to the
// app's redirect URI with its state; none creates anything.

const COOKIE = "__Host-oidc_transaction";

async function identityCount(subject: string) {
  return (await env.DB.prepare("SELECT count(*) AS n FROM identities WHERE subject = ?1").bind(subject).first<{ n: number }>())!.n;
}

/** A sign-in stopped at the callback: the browser that started it, the URL the provider sent it to, and who signed in. */
async function atCallback() {
  const browser = new TestBrowser();
  const app = await appRequest(LOCAL_CONFIDENTIAL.id);
  const account = uniqueAccount();
  const callback = await untilCallback(browser, app.url, { login: account });
  return { browser, app, callback, account };
}

async function expectNoTransaction(response: Response) {
  expect(response.status).toBe(400);
  expect(response.headers.get("Location")).toBeNull();
  expect(await response.json()).toEqual({ error: "invalid_request", error_description: expect.stringContaining("No sign-in is in progress") });
}

describe("GET /auth/oidc/callback without a valid transaction", () => {
  it("control: the browser that started the flow lands at the app with a code", async () => {
    const { browser, app, callback, account } = await atCallback();
    const result = await follow(browser, callback.href);
    expect("landed" in result && parametersOf(result.landed)).toEqual({ code: expect.any(String), state: app.state, iss: ISSUER });
    expect(await identityCount(account)).toBe(1);
  });

  it("answers 400 JSON to another browser (no cookie): a callback URL carried elsewhere signs nobody in", async () => {
    const { callback, account } = await atCallback();
    await expectNoTransaction(await new TestBrowser().request(callback.href));
    expect(await identityCount(account)).toBe(0);
  });

  it("answers 400 JSON to a forged, tampered or doubled cookie", async () => {
    const { browser, callback, account } = await atCallback();
    const sealed = browser.cookie("127.0.0.1", COOKIE)!;
    const tampered = `${sealed.slice(0, -2)}${sealed.at(-2) === "A" ? "B" : "A"}${sealed.at(-1)}`;
    for (const cookie of ["t1.x.y", "garbage", `t1.${sealed.split(".")[1]}.${"A".repeat(80)}`, tampered, `${sealed}; ${COOKIE}=${sealed}`]) {
      await expectNoTransaction(await new TestBrowser({ Cookie: `${COOKIE}=${cookie}` }).request(callback.href));
    }
    expect(await identityCount(account)).toBe(0);
  });

  it("answers 400 JSON to a transaction past its ten minutes", async () => {
    const { browser, app, callback } = await atCallback();
    const ring = await loadKeyRing(env.SIGNING_KEYS);
    const stale = await sealTransaction(ring, {
      provider: LOCAL_CONFIDENTIAL.id,
      state: callback.searchParams.get("state")!,
      nonce: "n",
      verifier: "v".repeat(43),
      expiresAt: Date.now() - 1,
      purpose: { kind: "sign_in", client_id: SPA.clientId, redirect_uri: SPA.redirectUri, code_challenge: new URL(app.url).searchParams.get("code_challenge")!, state: app.state },
    });
    browser.cookies.get("127.0.0.1")!.set(COOKIE, stale);
    await expectNoTransaction(await browser.request(callback.href));
  });

  it("clears the transaction cookie whatever the outcome", async () => {
    const { browser, callback } = await atCallback();
    const response = await browser.request(callback.href);
    expect(response.headers.getSetCookie().find((line) => line.startsWith(`${COOKIE}=`))).toMatch(/Max-Age=0/);
    expect(browser.cookie("127.0.0.1", COOKIE)).toBeUndefined();
  });
});

describe("GET /auth/oidc/callback with a valid transaction and a bad answer", () => {
  function withState(callback: URL, states: string[]): string {
    const url = new URL(callback);
    url.searchParams.delete("state");
    for (const state of states) url.searchParams.append("state", state);
    return url.href;
  }

  it.each([
    ["another state", ["forged-state"]],
    ["no state", []],
    ["the state twice", ["__same__", "__same__"]],
  ])("sends %s back to the app as access_denied, with the app's state; nothing created", async (_what, states) => {
    const { browser, app, callback, account } = await atCallback();
    const real = callback.searchParams.get("state")!;
    const response = await browser.request(withState(callback, states.map((state) => (state === "__same__" ? real : state))));
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("Location")!);
    expect(location.origin + location.pathname).toBe(SPA.redirectUri);
    expect(parametersOf(location)).toEqual({ error: "access_denied", state: app.state, iss: ISSUER });
    expect(await identityCount(account)).toBe(0);
  });

  it("refuses a replayed callback (the same cookie and answer again): access_denied, no second code", async () => {
    const { browser, app, callback } = await atCallback();
    const cookie = browser.cookie("127.0.0.1", COOKIE)!;
    const first = await browser.request(callback.href);
    expect(new URL(first.headers.get("Location")!).searchParams.get("code")).toMatch(/^ac1\./);
    const replay = await new TestBrowser({ Cookie: `${COOKIE}=${cookie}` }).request(callback.href);
    expect(parametersOf(new URL(replay.headers.get("Location")!))).toEqual({ error: "access_denied", state: app.state, iss: ISSUER });
  });

  it("sends the user's no at the provider back as access_denied", async () => {
    const app = await appRequest(LOCAL_CONFIDENTIAL.id);
    const result = await follow(new TestBrowser(), app.url, { decline: true });
    expect("landed" in result && parametersOf(result.landed)).toEqual({ error: "access_denied", state: app.state, iss: ISSUER });
  });

  it("answers temporarily_unavailable when D1, where identities live, is away; nothing created", async () => {
    const { browser, app, callback, account } = await atCallback();
    await withD1TableOffline("identities", async () => {
      const response = await browser.request(callback.href);
      expect(parametersOf(new URL(response.headers.get("Location")!))).toEqual({ error: "temporarily_unavailable", state: app.state, iss: ISSUER });
    });
    expect(await identityCount(account)).toBe(0);
  });
});
