// The client and the demo in a real Chromium against wrangler dev (5-second access tokens):
// run with `npm run test:e2e`, which starts the gateway and sets the E2E_* variables.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ACCESS_TOKEN_TTL_MS,
  APP_ORIGIN,
  clickCallApi,
  countRequests,
  eventsOf,
  GATEWAY,
  launchChromium,
  openDemo,
  PASSWORD,
  registerUser,
  signUp,
  sleep,
  untilRefreshIsDue,
  userIdOf,
  waitForState,
} from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A fresh browser profile (cookies, localStorage) per test, like a new user. */
async function freshContext(options = {}) {
  return browser.newContext({ viewport: { width: 1180, height: 860 }, ...options });
}

describe("the demo in Chromium", () => {
  it("keeps calling the API across several access-token expiries without a login screen", async () => {
    const context = await freshContext();
    const page = await openDemo(context);
    await signUp(page, "expiries");
    const refreshes = countRequests([page], "/auth/refresh");
    const statuses = [];
    page.on("response", (response) => {
      if (new URL(response.url()).pathname === "/api/echo") statuses.push(response.status());
    });
    // The page's "every second" switch: about 3.5 lifetimes of 5 s.
    await page.check("#auto");
    const until = Date.now() + 3.5 * ACCESS_TOKEN_TTL_MS;
    while (Date.now() < until) {
      assert.equal(await page.getAttribute("#status", "data-state"), "logged-in");
      await sleep(500);
    }
    await page.uncheck("#auto");
    await sleep(1_200); // a call in flight ends
    assert.ok(statuses.length >= 12, `only ${statuses.length} API calls`);
    // Refreshed ahead of expiry, so no call was ever answered 401.
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.ok(refreshes.length >= 3, `${refreshes.length} refreshes`);
    assert.equal(await page.getAttribute("#refresh-count", "data-here"), String(refreshes.length));
    assert.equal(await clickCallApi(page), 200);
    await context.close();
  });

  it("rotates once when two tabs refresh at once, and both stay logged in", async () => {
    const context = await freshContext();
    const tabA = await openDemo(context);
    await signUp(tabA, "tabs");
    const tabB = await openDemo(context);
    await waitForState(tabB, "logged-in");
    const user = await userIdOf(tabA);
    const refreshes = countRequests([tabA, tabB], "/auth/refresh");

    await untilRefreshIsDue(tabA);
    const statuses = await Promise.all(
      [tabA, tabB, tabA, tabB].map((tab) => tab.evaluate(async () => (await window.auth.fetch("/api/echo")).status)),
    );
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    // One rotation for both tabs, and one request: the second tab waits for the Web Lock, then
    // reads the first tab's result. Chromium can deliver that localStorage write to the other tab
    // a moment after the lock; a tab that waited for the lock then waits for the first tab's
    // message instead of sending the same token once more.
    assert.equal((await eventsOf(user, "refresh")).length, 1, "rotated once");
    assert.equal(refreshes.length, 1, `${refreshes.length} refresh requests`);
    assert.equal((await eventsOf(user, "refresh_grace_replay", 0)).length, 0);
    assert.equal((await eventsOf(user, "refresh_token_reuse", 0)).length, 0);
    for (const tab of [tabA, tabB]) await waitForState(tab, "logged-in");
    const sessions = await Promise.all([tabA, tabB].map((tab) => tab.evaluate(() => window.auth.session)));
    assert.deepEqual(sessions[0], sessions[1]);
    await context.close();
  });

  it("stays logged in when a refresh's answer is lost after the gateway rotated", async () => {
    const context = await freshContext();
    const page = await openDemo(context);
    await signUp(page, "lost");
    const user = await userIdOf(page);
    const refreshes = countRequests([page], "/auth/refresh");
    let lost = 0;
    await page.route("**/auth/refresh", async (route) => {
      if (lost > 0) return route.continue();
      lost += 1;
      // The gateway handles the refresh (it rotates), then the connection drops: the answer is lost.
      const answer = await route.fetch();
      assert.equal(answer.status(), 200);
      await route.abort("connectionreset");
    });

    await untilRefreshIsDue(page);
    assert.equal(await clickCallApi(page), 200);
    assert.equal(lost, 1);
    assert.equal(refreshes.length, 2, "the refresh and its retry");
    assert.equal(refreshes[0].body, refreshes[1].body, "the retry presents the same refresh token");
    // Rotated once; the retry got the same successor under the grace rule.
    assert.equal((await eventsOf(user, "refresh")).length, 1);
    assert.equal((await eventsOf(user, "refresh_grace_replay")).length, 1);
    await waitForState(page, "logged-in");
    // The successor is current: the next refresh is an ordinary rotation.
    await page.evaluate(() => window.auth.refresh());
    assert.equal((await eventsOf(user, "refresh", 2)).length, 2);
    assert.equal((await eventsOf(user, "refresh_token_reuse", 0)).length, 0);
    await context.close();
  });

  it("logs every tab out when a stolen refresh token is replayed", async () => {
    const context = await freshContext();
    const tabA = await openDemo(context);
    await signUp(tabA, "stolen");
    const tabB = await openDemo(context);
    await waitForState(tabB, "logged-in");
    const user = await userIdOf(tabA);

    await tabA.click("#steal");
    await tabA.locator("#attack-result", { hasText: "400 invalid_grant" }).waitFor();
    await Promise.all([waitForState(tabA, "logged-out"), waitForState(tabB, "logged-out")]);
    await tabB.locator("#log", { hasText: "refused the refresh token" }).waitFor();
    const [reuse] = await eventsOf(user, "refresh_token_reuse");
    assert.equal(reuse.detail.generations_behind, 2);
    // Logged out means logged out: the API is not called without a session.
    assert.equal(await clickCallApi(tabB), "error");
    await context.close();
  });

  it("keeps the session across a reload in localStorage mode", async () => {
    const context = await freshContext();
    const page = await openDemo(context);
    await signUp(page, "reload");
    const before = await page.evaluate(() => window.auth.session.sessionId);
    await page.reload();
    await waitForState(page, "logged-in");
    assert.equal(await page.evaluate(() => window.auth.session.sessionId), before);
    assert.equal(await clickCallApi(page), 200);
    await context.close();
  });

  it("works in cookie mode with the __Host-refresh_token cookie on http://localhost, holding no refresh token in script", async () => {
    const context = await freshContext();
    const localhost = GATEWAY.replace("127.0.0.1", "localhost");
    const page = await openDemo(context, "cookie", localhost);
    await signUp(page, "cookie");
    const [cookie] = (await context.cookies(localhost)).filter((entry) => entry.name === "__Host-refresh_token");
    assert.ok(cookie, "the refresh cookie is set");
    assert.deepEqual({ httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path }, { httpOnly: true, secure: true, sameSite: "Strict", path: "/" });
    const visible = await page.evaluate(() => document.cookie + JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
    assert.doesNotMatch(visible, /rt1\./, "no refresh token where script can read it");

    const refreshes = countRequests([page], "/auth/refresh");
    await untilRefreshIsDue(page);
    assert.equal(await clickCallApi(page), 200);
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].body, "", "the cookie alone carries the refresh token");
    const rotated = (await context.cookies(localhost)).find((entry) => entry.name === "__Host-refresh_token");
    assert.notEqual(rotated.value, cookie.value);

    // A reload keeps only the cookie: the client gets a new access token with it.
    const session = await page.evaluate(() => window.auth.session.sessionId);
    await page.reload();
    await waitForState(page, "logged-in");
    assert.equal(await page.evaluate(() => window.auth.session.sessionId), session);
    await page.click("#logout");
    await waitForState(page, "logged-out");
    assert.equal((await context.cookies(localhost)).filter((entry) => entry.name === "__Host-refresh_token").length, 0);
    await context.close();
  });

  it("lets a page on an allowed origin call the API through the gateway, and not a page on another", async () => {
    const context = await freshContext();
    const username = await registerUser("cors");
    const app = await context.newPage();
    await app.goto(`${APP_ORIGIN}/`);
    await app.locator("body[data-ready]").waitFor();
    const result = await app.evaluate(([gateway, name, password]) => window.callThroughGateway(gateway, name, password), [GATEWAY, username, PASSWORD]);
    assert.equal(result.status, 200, JSON.stringify(result));
    assert.equal(result.origin, APP_ORIGIN);
    assert.equal(result.method, "POST");
    assert.match(result.user, /^[0-9a-f-]{36}$/);

    // The same page served from an origin that is not listed: the browser refuses the answers.
    const other = await context.newPage();
    await other.goto(`${APP_ORIGIN.replace("127.0.0.1", "localhost")}/`);
    await other.locator("body[data-ready]").waitFor();
    const refused = await other.evaluate(([gateway, name, password]) => window.callThroughGateway(gateway, name, password), [GATEWAY, username, PASSWORD]);
    assert.deepEqual(refused, { error: "network_error" });
    await context.close();
  });
});
