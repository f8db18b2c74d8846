// Sign in through an upstream OpenID provider, in a real Chromium: the demo's "Sign in with local"
// button, through the real redirects (the gateway's /auth/authorize, the local oidc-provider's
// login form, the gateway's callback) and back to the demo, logged in, refreshing across access
// token expiries; then linking a second identity from the demo. Run with `npm run test:e2e`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { ACCESS_TOKEN_TTL_MS, clickCallApi, countRequests, eventsOf, GATEWAY, launchChromium, openDemo, signUp, sleep, userIdOf, waitForState } from "./harness.mjs";

const IDP = process.env.E2E_IDP;

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** Clicks "Sign in with local" and signs in at the provider's form as `account`; the page comes back to the demo. */
async function signInWithLocal(page, account) {
  await page.click('[data-sign-in-with="local"]');
  await page.waitForURL((url) => url.href.startsWith(IDP));
  await page.fill('input[name="login"]', account);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(`${GATEWAY}/demo`)), page.click('button[type="submit"]')]);
}

describe("signing in through an upstream provider in Chromium", () => {
  it("goes through the provider and back to the demo, logged in, and keeps refreshing across expiries", { skip: !IDP && "E2E_IDP not set" }, async () => {
    for (const dpop of [false, true]) {
      // A new profile each time: the provider's login form again, a new user.
      const context = await browser.newContext({ viewport: { width: 1180, height: 860 } });
      const page = await openDemo(context, "localStorage", GATEWAY, { dpop });
      const account = `e2e-${randomBytes(4).toString("hex")}`;
      await signInWithLocal(page, account);
      await waitForState(page, "logged-in");
      // The code and state are gone from the address bar; the mode is kept.
      assert.equal(new URL(page.url()).search, `?storage=localStorage${dpop ? "&dpop=1" : ""}`);
      assert.equal(await page.textContent("#token-type"), dpop ? "DPoP" : "Bearer");

      const sub = await userIdOf(page);
      const [login] = await eventsOf(sub, "login");
      assert.deepEqual(login.detail, { method: "oidc", provider: "local" });
      const claims = await page.evaluate(async () => JSON.parse(atob((await window.auth.getAccessToken()).split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))));
      assert.deepEqual(claims.amr, ["fed"]);
      assert.equal(claims.idp, "local");

      // Across two access-token lifetimes: refreshed at /auth/refresh, the API answering 200.
      const refreshes = countRequests([page], "/auth/refresh");
      const until = Date.now() + 2 * ACCESS_TOKEN_TTL_MS + 500;
      while (Date.now() < until) {
        assert.equal(await clickCallApi(page), 200);
        await sleep(700);
      }
      assert.ok(refreshes.length >= 2, `${refreshes.length} refreshes`);
      assert.equal(await userIdOf(page), sub);
      await page.click("#logout");
      await waitForState(page, "logged-out");
      await context.close();
    }
  });

  it("links the provider's identity to a password account from the demo, which then signs in as that account", { skip: !IDP && "E2E_IDP not set" }, async () => {
    const context = await browser.newContext();
    const page = await openDemo(context);
    await signUp(page, "linker");
    const sub = await userIdOf(page);

    await page.click('[data-link="local"]');
    await page.waitForURL((url) => url.href.startsWith(IDP));
    await page.fill('input[name="login"]', `e2e-link-${randomBytes(4).toString("hex")}`);
    // The link return URL is the demo (OIDC_LINK_RETURN_URL's default with DEMO on).
    await Promise.all([page.waitForURL((url) => url.href.startsWith(`${GATEWAY}/demo`)), page.click('button[type="submit"]')]);
    await page.locator("#log", { hasText: "Linked your local identity" }).waitFor();
    await waitForState(page, "logged-in");
    const [linked] = await eventsOf(sub, "identity_linked");
    assert.deepEqual(linked.detail, { provider: "local" });

    // Logged out, "Sign in with local" (the provider remembers the account) signs in as the password account.
    await page.click("#logout");
    await waitForState(page, "logged-out");
    await page.click('[data-sign-in-with="local"]');
    await page.waitForURL((url) => url.href.startsWith(`${GATEWAY}/demo?storage=`));
    await waitForState(page, "logged-in");
    assert.equal(await userIdOf(page), sub);
    await context.close();
  });
});
