// The client's DPoP mode in Chromium against wrangler dev (5-second access tokens): a session
// bound to a non-extractable key the page keeps in IndexedDB, and a refresh token copied out of
// the page that is useless elsewhere. Run with `npm run test:e2e`.
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import {
  ACCESS_TOKEN_TTL_MS,
  clickCallApi,
  countRequests,
  eventsOf,
  GATEWAY,
  launchChromium,
  openDemo,
  PASSWORD,
  signUp,
  sleep,
  untilRefreshIsDue,
  userIdOf,
  waitForState,
} from "./harness.mjs";

// The demo's localStorage key in localStorage mode with DPoP on.
const STORAGE_KEY = "edge-auth-demo-localStorage-dpop";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** What script on the page can read of the refresh token: the client's record in localStorage. */
function refreshTokenIn(page) {
  return page.evaluate((key) => JSON.parse(localStorage.getItem(key)).refreshToken, STORAGE_KEY);
}

/** `POST /auth/refresh` from Node, as a thief elsewhere would send it: the copied token, and `DPoP` when given. */
function replayFromNode(refreshToken, headers = {}) {
  return fetch(`${GATEWAY}/auth/refresh`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
}

/** A valid proof for the refresh URL, by a key of the thief's own. */
async function proofOfAnotherKey() {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  return new SignJWT({ htm: "POST", htu: `${GATEWAY}/auth/refresh`, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000) })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await exportJWK(publicKey) })
    .sign(privateKey);
}

describe("the client's DPoP mode in Chromium", () => {
  it("binds the session to a non-extractable key, signs every refresh and API call, and a refresh token copied out of the page is refused elsewhere while the page stays logged in", async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 980 } });
    const page = await openDemo(context, "localStorage", GATEWAY, { dpop: true });
    await signUp(page, "dpop");
    const user = await userIdOf(page);

    // Bound: the access token's cnf.jkt is the thumbprint of the page's key, which cannot be exported.
    await page.locator("#token-type", { hasText: "DPoP" }).waitFor();
    const jkt = await page.locator("#binding[data-jkt]").getAttribute("data-jkt");
    const key = await page.evaluate(async () => {
      const { privateKey, jwk } = await window.auth.dpopKey();
      const exported = await crypto.subtle.exportKey("jwk", privateKey).then(
        () => "exported",
        (error) => error.name,
      );
      return { extractable: privateKey.extractable, exported, jwk };
    });
    assert.deepEqual({ extractable: key.extractable, exported: key.exported }, { extractable: false, exported: "InvalidAccessError" });
    assert.equal(jkt, await calculateJwkThumbprint(key.jwk, "sha256"));
    assert.match(await page.textContent("#binding"), /this page's key/);

    // Across expiries: every refresh and API call carries a proof, and no call is refused.
    const refreshes = countRequests([page], "/auth/refresh");
    const calls = countRequests([page], "/api/echo");
    const statuses = [];
    page.on("response", (response) => {
      if (new URL(response.url()).pathname === "/api/echo") statuses.push(response.status());
    });
    await page.check("#auto");
    await sleep(2.5 * ACCESS_TOKEN_TTL_MS);
    await page.uncheck("#auto");
    await sleep(1_200);
    assert.ok(refreshes.length >= 2, `${refreshes.length} refreshes`);
    assert.deepEqual([...new Set(statuses)], [200]);
    for (const request of [...refreshes, ...calls]) assert.match(request.headers.dpop ?? "", /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(calls.every((request) => request.headers.authorization.startsWith("DPoP ")));

    // A thief copies the refresh token out of the page and replays it from elsewhere (Node).
    const refreshesBefore = refreshes.length;
    const copied = await refreshTokenIn(page);
    const withoutProof = await replayFromNode(copied);
    assert.equal(withoutProof.status, 400);
    assert.equal((await withoutProof.json()).error, "invalid_grant");
    const withAnotherKey = await replayFromNode(copied, { DPoP: await proofOfAnotherKey() });
    assert.equal(withAnotherKey.status, 400);
    assert.equal((await withAnotherKey.json()).error, "invalid_grant");

    // Nothing was rotated or revoked: the page calls on, and its next refresh presents that very token.
    await waitForState(page, "logged-in");
    assert.equal(await clickCallApi(page), 200);
    await page.evaluate(() => window.auth.refresh());
    assert.ok(refreshes.length > refreshesBefore);
    assert.equal(JSON.parse(refreshes[refreshesBefore].body).refresh_token, copied);
    assert.notEqual(await refreshTokenIn(page), copied);
    assert.equal(await clickCallApi(page), 200);
    // Both replays were refused; the session records dpop_proof_failed at most once a minute, so one event, the first's.
    const failed = await eventsOf(user, "dpop_proof_failed");
    assert.deepEqual(failed.map((event) => event.detail), [{ reason: "no_proof", count: 1 }]);
    assert.equal((await eventsOf(user, "refresh_token_reuse", 0)).length, 0);

    // The demo's own button does the same from the page: refused, and the page calls on.
    await page.click("#replay");
    await page.locator("#replay-result[data-api]").waitFor();
    assert.deepEqual(await page.evaluate(() => ({ ...document.getElementById("replay-result").dataset })), { thief: "400", api: "200" });
    await waitForState(page, "logged-in");
    assert.equal((await eventsOf(user, "dpop_proof_failed")).length, 1);

    // The README's picture: a bound session, the refused replay, the session list.
    await page.click("#list-sessions");
    await page.locator("#session-rows tr").first().waitFor();
    await page.screenshot({ path: process.env.E2E_SCREENSHOT, fullPage: true });
    if (process.env.E2E_SCREENSHOT_COPY) copyFileSync(process.env.E2E_SCREENSHOT, process.env.E2E_SCREENSHOT_COPY);
    await context.close();
  });

  it("keeps the key in IndexedDB across a reload and shares it with a second tab, and cannot be logged out by an old copy", async () => {
    const context = await browser.newContext();
    const tabA = await openDemo(context, "localStorage", GATEWAY, { dpop: true });
    const username = await signUp(tabA, "dpop-tabs");
    const user = await userIdOf(tabA);
    const tabB = await openDemo(context, "localStorage", GATEWAY, { dpop: true });
    await waitForState(tabB, "logged-in");
    const jwkOf = (tab) => tab.evaluate(async () => (await window.auth.dpopKey()).jwk);
    assert.deepEqual(await jwkOf(tabB), await jwkOf(tabA));

    // One rotation for both tabs, signed with the shared key.
    await untilRefreshIsDue(tabA);
    const statuses = await Promise.all([tabA, tabB].map((tab) => tab.evaluate(async () => (await window.auth.fetch("/api/echo")).status)));
    assert.deepEqual(statuses, [200, 200]);

    await tabA.reload();
    await waitForState(tabA, "logged-in");
    await untilRefreshIsDue(tabA);
    assert.equal(await clickCallApi(tabA), 200);

    // The copy taken at login, two rotations old by now: without the key it cannot even trigger
    // reuse detection, so nobody is logged out.
    await tabA.click("#steal");
    await tabA.locator("#attack-result", { hasText: "400 invalid_grant" }).waitFor();
    await tabA.locator("#log", { hasText: "nothing revoked" }).waitFor();
    for (const tab of [tabA, tabB]) assert.equal(await clickCallApi(tab), 200);
    assert.equal((await eventsOf(user, "refresh_token_reuse", 0)).length, 0);
    assert.equal((await eventsOf(user, "dpop_proof_failed")).length, 1);

    // Logging out ends the session everywhere and deletes the key: the next login binds a new one.
    const oldKey = await jwkOf(tabA);
    await tabA.click("#logout");
    await Promise.all([waitForState(tabA, "logged-out"), waitForState(tabB, "logged-out")]);
    const stored = await tabA.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const request = indexedDB.open("edge-auth-demo-localStorage-dpop");
          request.onsuccess = () => {
            const get = request.result.transaction("dpop").objectStore("dpop").get("key");
            get.onsuccess = () => resolve(get.result === undefined ? "none" : "a key");
          };
          request.onerror = () => reject(request.error);
        }),
    );
    assert.equal(stored, "none");
    await tabA.fill("#username", username);
    await tabA.fill("#password", PASSWORD);
    await tabA.click("#login");
    await waitForState(tabA, "logged-in");
    assert.notDeepEqual(await jwkOf(tabA), oldKey);
    assert.equal(await clickCallApi(tabA), 200);
    await context.close();
  });
});
