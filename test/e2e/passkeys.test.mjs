// Passkeys in a real Chromium against wrangler dev, with a CDP virtual authenticator (a platform
// authenticator with resident keys and user verification): register a passkey in the demo, log
// out, log in with it, and a second tab stays logged in. The demo is opened at
// http://localhost:PORT: browsers refuse an IP address as RP ID (WEBAUTHN_RP_ID is localhost).
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { clickCallApi, eventsOf, GATEWAY, launchChromium, openDemo, signUp, untilRefreshIsDue, userIdOf, waitForState } from "./harness.mjs";

const LOCALHOST = GATEWAY.replace("//127.0.0.1:", "//localhost:");

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A virtual authenticator for `page`, as a laptop's fingerprint reader would be (WebAuthn domain of CDP). */
async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId, credentials: async () => (await cdp.send("WebAuthn.getCredentials", { authenticatorId })).credentials };
}

describe("passkeys in Chromium", () => {
  it("adds a passkey in the demo, logs out, logs in with it (amr hwk user), and a second tab stays logged in", async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 1200 } });
    const page = await openDemo(context, "localStorage", LOCALHOST);
    const authenticator = await virtualAuthenticator(context, page);
    await signUp(page, "passkey");
    const user = await userIdOf(page);
    assert.equal(await page.getAttribute("#amr", "data-amr"), "pwd");

    await page.fill("#passkey-name", "e2e laptop");
    await page.click("#add-passkey");
    await page.locator("#log", { hasText: "Added passkey e2e laptop" }).waitFor();
    const [stored] = await authenticator.credentials();
    assert.equal(stored.isResidentCredential, true);
    assert.equal(stored.rpId, "localhost");
    assert.equal(Buffer.from(stored.userHandle, "base64").toString("utf8"), user);
    await page.locator("#passkey-rows tr", { hasText: "e2e laptop" }).waitFor();
    assert.equal(await page.locator("#passkey-rows tr").count(), 1);

    await page.click("#logout");
    await waitForState(page, "logged-out");
    await page.click("#passkey-login");
    await waitForState(page, "logged-in");
    await page.locator('#amr[data-amr="hwk user"]').waitFor();
    await page.click("#list-passkeys");
    await page.locator("#passkey-rows tr", { hasText: "e2e laptop" }).waitFor();
    // What a person sees: signed in with a passkey, the passkey listed (beside the demo's screenshot).
    if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: join(dirname(process.env.E2E_SCREENSHOT), "passkeys.png"), fullPage: true });
    assert.equal(await userIdOf(page), user);
    assert.equal(await clickCallApi(page), 200);
    const logins = await eventsOf(user, "login", 2);
    assert.deepEqual(logins.map((event) => event.detail.method), ["passkey", "password"]);

    // A second tab of the same origin shares the session, and both stay logged in across a refresh.
    const second = await openDemo(context, "localStorage", LOCALHOST);
    await waitForState(second, "logged-in");
    assert.equal(await userIdOf(second), user);
    await untilRefreshIsDue(page);
    const statuses = await Promise.all([page, second].map((tab) => tab.evaluate(async () => (await window.auth.fetch("/api/echo")).status)));
    assert.deepEqual(statuses, [200, 200]);
    await waitForState(page, "logged-in");
    await waitForState(second, "logged-in");

    // The counter went up with the login: the authenticator counts, the gateway stored it.
    const [afterLogin] = await authenticator.credentials();
    assert.ok(afterLogin.signCount >= 1, `sign count ${afterLogin.signCount}`);
    await context.close();
  });

  it("logs in with no passkey for this site: the gateway refuses an unknown credential, the page stays logged out", async () => {
    const context = await browser.newContext();
    const page = await openDemo(context, "localStorage", LOCALHOST);
    const authenticator = await virtualAuthenticator(context, page);
    // A resident credential the gateway never registered, for this RP ID.
    const { privateKey } = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", privateKey)).toString("base64");
    await authenticator.cdp.send("WebAuthn.addCredential", {
      authenticatorId: authenticator.authenticatorId,
      credential: { credentialId: Buffer.from("unknown-credential").toString("base64"), isResidentCredential: true, rpId: "localhost", privateKey: pkcs8, userHandle: Buffer.from("nobody").toString("base64"), signCount: 0 },
    });
    await page.click("#passkey-login");
    await page.locator("#log", { hasText: "invalid_credentials" }).waitFor();
    assert.equal(await page.getAttribute("#status", "data-state"), "logged-out");
    await context.close();
  });
});
