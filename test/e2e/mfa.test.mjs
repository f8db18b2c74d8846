// TOTP in the demo, in a real Chromium against wrangler dev: enrol (the secret read from the
// page, codes computed here by RFC 6238), log out, log in with the password and a code, and with
// a recovery code. Run with `npm run test:e2e -- test/e2e/mfa.test.mjs`.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eventsOf, launchChromium, openDemo, PASSWORD, signUp, sleep, userIdOf, waitForState } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function fromBase32(text) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const letter of text) {
    value = (value << 5) | BASE32.indexOf(letter);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 with SHA-1, 6 digits, 30-second steps: the code of `step`. */
function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", fromBase32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** Codes of steps the gateway has not accepted yet: the step before now, now, the one after, each once. */
function device(secret) {
  let next = Math.floor(Date.now() / 30_000) - 1;
  return async () => {
    // Not within two seconds of a step's end: the code is still of its step when the gateway checks it.
    if (30_000 - (Date.now() % 30_000) < 2_000) await sleep(2_500);
    while (next > Math.floor(Date.now() / 30_000) + 1) await sleep(500);
    next = Math.max(next, Math.floor(Date.now() / 30_000) - 1);
    return totp(secret, next++);
  };
}

async function logInWithPassword(page, username) {
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await page.click("#login");
  await page.locator("#mfa-step:not([hidden])").waitFor();
}

describe("TOTP in the demo", () => {
  it("enrols with the QR code's secret, then logs in with the password and a code, and with a recovery code", async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
    const page = await openDemo(context);
    const username = await signUp(page, "totp");
    const user = await userIdOf(page);

    // Enrol: the page draws the otpauth URI as a QR code and shows its secret.
    await page.click("#totp-enrol");
    await page.locator("#totp-qr svg").waitFor();
    const secret = await page.getAttribute("#totp-secret", "data-secret");
    const uri = await page.getAttribute("#totp-qr", "data-uri");
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(new URL(uri).searchParams.get("secret"), secret);
    assert.ok(uri.startsWith(`otpauth://totp/edge-auth-gateway:${encodeURIComponent(username)}?`), uri);
    const code = device(secret);
    await page.fill("#totp-confirm-code", await code());
    await page.click("#totp-confirm");
    await page.locator("#recovery:not([hidden]) #recovery-codes li").first().waitFor();
    const recoveryCodes = await page.locator("#recovery-codes li").allTextContents();
    assert.equal(recoveryCodes.length, 10);
    assert.equal((await eventsOf(user, "mfa_enabled")).length, 1);

    // Log out; the password alone now asks for a code, and the form waits for it.
    await page.click("#logout");
    await waitForState(page, "logged-out");
    await logInWithPassword(page, username);
    assert.equal(await page.getAttribute("#status", "data-state"), "logged-out");
    assert.equal(await page.isDisabled("#login"), true);
    await page.fill("#mfa-code", "000000");
    await page.click("#mfa-verify");
    await page.locator("#log li").first().filter({ hasText: "invalid_code" }).waitFor();
    await page.fill("#mfa-code", await code());
    await page.click("#mfa-verify");
    await waitForState(page, "logged-in");
    await page.locator('#amr[data-amr="pwd otp mfa"]').waitFor();
    assert.equal(await page.inputValue("#username"), "");
    assert.equal(await page.isDisabled("#username"), true);

    // And with a recovery code: amr pwd mfa, and the code is spent.
    await page.click("#logout");
    await waitForState(page, "logged-out");
    await logInWithPassword(page, username);
    await page.fill("#mfa-code", recoveryCodes[0]);
    await page.click("#mfa-verify");
    await waitForState(page, "logged-in");
    await page.locator('#amr[data-amr="pwd mfa"]').waitFor();
    const used = await eventsOf(user, "recovery_code_used");
    assert.deepEqual(used[0]?.detail, { remaining: 9 });

    await page.click("#logout");
    await waitForState(page, "logged-out");
    await logInWithPassword(page, username);
    await page.fill("#mfa-code", recoveryCodes[0]);
    await page.click("#mfa-verify");
    await page.locator("#log li").first().filter({ hasText: "invalid_code" }).waitFor();
    assert.equal(await page.getAttribute("#status", "data-state"), "logged-out");
    await context.close();
  });

  it("keeps the newcomer's edges smooth: register logs in, buttons follow the state, X-Auth-User shows the username", async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
    const page = await openDemo(context);
    assert.equal(await page.isDisabled("#logout"), true);
    assert.equal(await page.isDisabled("#replay"), true);
    assert.equal(await page.isDisabled("#steal"), true);
    const username = await signUp(page, "edges");
    assert.equal(await page.isDisabled("#logout"), false);
    assert.equal(await page.isDisabled("#login"), true);
    assert.equal(await page.isDisabled("#steal"), false);
    await page.click("#call");
    await page.locator("#api-result[data-status='200']").waitFor();
    const shown = await page.textContent("#api-result");
    const user = await userIdOf(page);
    assert.ok(shown.includes(`X-Auth-User ${user} (${username})`), shown);

    // The stolen-token replay revokes every session: the list no longer shows the revoked one.
    await page.click("#list-sessions");
    await page.locator("#session-rows tr").first().waitFor();
    await page.click("#steal");
    await waitForState(page, "logged-out");
    assert.equal(await page.locator("#session-rows tr").count(), 0);
    assert.equal(await page.isDisabled("#login"), false);
    assert.equal(await page.isDisabled("#logout"), true);
    await context.close();
  });
});
