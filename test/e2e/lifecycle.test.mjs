// The account lifecycle from outside, over HTTP, against a real `wrangler dev` of the gateway
// started here on a free port of 127.0.0.1, with a webhook receiver beside it: a Node server that
// checks every delivery with the `standardwebhooks` library, as a team's mailer would, and keeps
// the messages to users. Register with an address, verify it with the code the message carried,
// forget and reset the password with the link's token, change it, delete the account. Then the
// same walk in Chromium through the demo's dev inbox, on a gateway in local-dev mode
// (DEV_MESSAGE_LOG on, no WEBHOOK_URL). Run with `npm run test:e2e -- test/e2e/lifecycle.test.mjs`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../scripts/lib/wrangler.mjs";
import { launchChromium, sleep } from "./harness.mjs";
import { ownGateway } from "./own-gateway.mjs";

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const adminToken = randomBytes(32).toString("hex");
const PASSWORD = "correct horse battery";
/** What reached the receiver: verified deliveries, by `webhook-id` (de-duplicated as a receiver does). */
const deliveries = new Map();
const refused = [];
let receiver;
let gatewayServer;
let devGatewayServer;
let gateway;

before(async () => {
  const verifier = new Webhook(secret);
  receiver = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const payload = verifier.verify(body, request.headers);
      deliveries.set(request.headers["webhook-id"], payload);
      response.writeHead(204).end();
    } catch (error) {
      refused.push(error.message);
      response.writeHead(400).end();
    }
  });
  const receiverPort = await freePort();
  await new Promise((resolve) => receiver.listen(receiverPort, "127.0.0.1", resolve));

  gatewayServer = ownGateway("lifecycle");
  devGatewayServer = ownGateway("lifecycle-dev");
  await Promise.all([
    gatewayServer.start({
      WEBHOOK_URL: `http://127.0.0.1:${receiverPort}/hook`,
      WEBHOOK_SECRET: secret,
      WEBHOOK_EVENTS: "password_changed,password_reset,account_deleted,email_verified",
      ADMIN_API_TOKEN: adminToken,
      REGISTRATIONS_PER_IP_PER_HOUR: "1000",
    }),
    devGatewayServer.start({ DEMO: "true", DEV_MESSAGE_LOG: "true", REGISTRATIONS_PER_IP_PER_HOUR: "1000" }),
  ]);
  gateway = gatewayServer.url;
});

after(async () => {
  await Promise.all([gatewayServer?.stop(), devGatewayServer?.stop()]);
  receiver?.closeAllConnections();
  receiver?.close();
});

function post(path, body, headers = {}) {
  return fetch(`${gateway}${path}`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

const bearer = (pair) => ({ Authorization: `Bearer ${pair.access_token}` });

async function login(username, password) {
  const response = await post("/auth/login", { username, password });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

/** Waits (the queue batches up to 5 s) for the webhooks of `type` about `userId`. */
async function webhooksOf(userId, type, count = 1) {
  const until = Date.now() + 20_000;
  for (;;) {
    const found = [...deliveries.values()].filter((payload) => payload.type === type && (payload.data.user_id ?? payload.data.sub) === userId);
    if (found.length >= count || Date.now() > until) return found;
    await sleep(200);
  }
}

describe("the account lifecycle over HTTP, messages through a signed webhook", () => {
  it("registers with an address, verifies it, resets a forgotten password, changes it and deletes the account", async () => {
    const username = `life.${randomBytes(4).toString("hex")}`;
    const email = `${username}@Example.com`;
    const registered = await post("/auth/register", { username, password: PASSWORD, email });
    assert.equal(registered.status, 201);
    const { user_id: userId } = await registered.json();
    const first = await login(username, PASSWORD);

    // Verify the address with the code the message carried.
    assert.equal((await post("/auth/email/verification", {}, bearer(first))).status, 202);
    const [codeMessage] = await webhooksOf(userId, "message.email_verification");
    assert.ok(codeMessage, "no verification message reached the receiver");
    assert.equal(codeMessage.data.to, email.toLowerCase());
    assert.match(codeMessage.data.code, /^\d{6}$/);
    assert.equal((await post("/auth/email/verify", { code: codeMessage.data.code }, bearer(first))).status, 204);
    const account = await (await fetch(`${gateway}/auth/account`, { headers: bearer(first) })).json();
    assert.deepEqual({ email: account.email, email_verified: account.email_verified, username: account.username }, { email: email.toLowerCase(), email_verified: true, username });

    // Forgot, by address in another case: the link's token resets the password and ends every session.
    assert.equal((await post("/auth/password/forgot", { email: email.toUpperCase() })).status, 202);
    assert.equal((await post("/auth/password/forgot", { username: `nobody.${randomBytes(4).toString("hex")}` })).status, 202);
    const [resetMessage] = await webhooksOf(userId, "message.password_reset");
    assert.ok(resetMessage, "no reset message reached the receiver");
    assert.match(resetMessage.data.token, /^rt1\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
    assert.equal((await post("/auth/password/reset", { token: resetMessage.data.token, password: "a reset password" })).status, 204);
    assert.equal((await post("/auth/password/reset", { token: resetMessage.data.token, password: "again and again" })).status, 400);
    assert.equal((await post("/auth/refresh", { refresh_token: first.refresh_token })).status, 400);
    assert.equal((await post("/auth/login", { username, password: PASSWORD })).status, 401);

    // Change it: the other session ends, this one stays.
    const second = await login(username, "a reset password");
    const third = await login(username, "a reset password");
    assert.equal((await post("/auth/password", { current_password: "a reset password", new_password: "a changed password" }, bearer(second))).status, 204);
    assert.equal((await post("/auth/refresh", { refresh_token: third.refresh_token })).status, 400);
    assert.equal((await post("/auth/refresh", { refresh_token: second.refresh_token })).status, 200);

    // Delete it: gone for the admin too, and the webhook says so.
    const deleted = await fetch(`${gateway}/auth/account`, { method: "DELETE", headers: { ...bearer(second), "Content-Type": "application/json" }, body: JSON.stringify({ password: "a changed password" }) });
    assert.equal(deleted.status, 204);
    assert.equal((await post("/auth/login", { username, password: "a changed password" })).status, 401);
    assert.equal((await fetch(`${gateway}/auth/admin/users/${userId}`, { headers: { Authorization: `Bearer ${adminToken}` } })).status, 404);
    // The audit webhooks WEBHOOK_EVENTS selects, each once (the queue batches them, so they are awaited together here).
    const [gone] = await webhooksOf(userId, "account_deleted");
    assert.ok(gone, "no account_deleted webhook");
    for (const type of ["email_verified", "password_reset", "password_changed"]) assert.equal((await webhooksOf(userId, type)).length, 1, type);
    assert.deepEqual({ ip: gone.data.ip, detail: gone.data.detail }, { ip: null, detail: null });
    assert.deepEqual(refused, []);
  });
});

describe("the dev inbox of the demo, in Chromium", () => {
  it("walks through verify and reset with the codes and links the inbox shows", async () => {
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext({ viewport: { width: 1180, height: 1200 } })).newPage();
      await page.goto(`${devGatewayServer.url}/demo?storage=memory`);
      const username = `inbox.${randomBytes(4).toString("hex")}`;
      await page.fill("#username", username);
      await page.fill("#password", PASSWORD);
      await page.fill("#email", `${username}@example.com`);
      await page.click("#register-email");
      await page.waitForSelector("#log li.good");
      await page.click("#login");
      await page.waitForSelector("#status[data-state=logged-in]");

      await page.click("#send-code");
      const code = await page.waitForSelector("#inbox li[data-type='message.email_verification'] button", { timeout: 20_000 });
      await code.click();
      assert.match(await page.inputValue("#secret"), /^\d{6}$/);
      await page.click("#verify");
      await page.waitForFunction(() => document.querySelector("#log li")?.textContent?.includes("Address verified"));

      await page.click("#forgot");
      const link = await page.waitForSelector("#inbox li[data-type='message.password_reset'] button", { timeout: 20_000 });
      await link.click();
      assert.match(await page.inputValue("#secret"), /^rt1\./);
      await page.fill("#new-password", "a password from the inbox");
      await page.click("#reset");
      await page.waitForFunction(() => document.querySelector("#log li")?.textContent?.includes("Password reset"));
      // Reset ended every session, this page's too: the page is logged out, its login form
      // cleared; log in again with the new password.
      await page.waitForSelector("#status[data-state=logged-out]");
      await page.fill("#username", username);
      await page.fill("#password", "a password from the inbox");
      await page.click("#login");
      await page.waitForSelector("#status[data-state=logged-in]");
    } finally {
      await browser.close();
    }
  });
});
