// What the browser tests share: Chromium, the gateway scripts/e2e.mjs started, and steps of the
// demo a user would take.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

export const GATEWAY = required("E2E_GATEWAY");
export const APP_ORIGIN = required("E2E_APP_ORIGIN");
export const ACCESS_TOKEN_TTL_MS = Number(required("E2E_ACCESS_TOKEN_TTL_SECONDS")) * 1000;
const ADMIN_TOKEN = required("E2E_ADMIN_TOKEN");
/** `Authorization` for the admin routes (/auth/admin/*) of the gateway under test. */
export const adminHeaders = { Authorization: `Bearer ${ADMIN_TOKEN}` };
export const PASSWORD = "correct horse battery";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with npm run test:e2e`);
  return value;
}

/** Debian's Chromium, headless, with nothing that would reach out to Google's hosts. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    timeout: 30_000,
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export function uniqueUsername(label) {
  return `e2e.${label}.${randomBytes(4).toString("hex")}`;
}

/** Opens the demo in a new tab of `context`, in a storage mode, at the gateway or at `base`, with DPoP on or off. */
export async function openDemo(context, storage = "localStorage", base = GATEWAY, { dpop = false } = {}) {
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await page.goto(`${base}/demo?storage=${storage}${dpop ? "&dpop=1" : ""}`);
  await page.waitForFunction(() => window.auth !== undefined);
  return page;
}

/** Registers a new user through the demo's form, which logs them in; returns the username. */
export async function signUp(page, label) {
  const username = uniqueUsername(label);
  await page.fill("#username", username);
  await page.fill("#password", PASSWORD);
  await page.click("#register");
  await page.locator("#log", { hasText: `Registered ${username} and logged in` }).waitFor();
  await waitForState(page, "logged-in");
  return username;
}

/** Waits until the demo shows `state` (logged-in, logged-out); says what it shows instead when it does not. */
export async function waitForState(page, state, timeout = 15_000) {
  try {
    await page.locator(`#status[data-state="${state}"]`).waitFor({ timeout });
  } catch (error) {
    const shown = await page.evaluate(() => [document.getElementById("status").textContent, ...[...document.querySelectorAll("#log li")].slice(0, 6).map((item) => item.textContent)]);
    throw new Error(`${page.url()} is not ${state}: ${shown.join(" | ")}`, { cause: error });
  }
}

/** Clicks "Call GET /api/echo" and returns the status the page shows (a number, or "error"). */
export async function clickCallApi(page) {
  await page.evaluate(() => delete document.getElementById("api-result").dataset.status);
  await page.click("#call");
  await page.locator("#api-result[data-status]").waitFor();
  const status = await page.getAttribute("#api-result", "data-status");
  return status === "error" ? status : Number(status);
}

/** The user id of the page's session, as the origin sees it (X-Auth-User). */
export function userIdOf(page) {
  return page.evaluate(async () => (await (await window.auth.fetch("/api/echo")).json()).headers["x-auth-user"]);
}

/** Sleeps until the page's access token is due for a refresh (inside the client's lead time). */
export async function untilRefreshIsDue(page) {
  const expiresAt = await page.evaluate(() => window.auth.session.accessTokenExpiresAt);
  // The client refreshes within min(30 s, half the lifetime) of expiry.
  await sleep(expiresAt - ACCESS_TOKEN_TTL_MS / 2 + 300 - Date.now());
}

/** Counts the requests to `path` that the pages send (retries included), with their body and headers. */
export function countRequests(pages, path) {
  const seen = [];
  for (const page of pages) {
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === path) seen.push({ page, body: request.postData() ?? "", headers: request.headers() });
    });
  }
  return seen;
}

/**
 * How long an event may take to reach D1: the EVENTS queue hands its consumer a batch after at most
 * `max_batch_timeout` (5 s in wrangler.toml), then the consumer writes it; on a loaded machine the
 * write itself can take seconds more.
 */
const EVENT_DELIVERY_MS = 15_000;

/**
 * The user's audit events of `type` (refresh, refresh_grace_replay, refresh_token_reuse, ...), through
 * the admin route. D1 lags the Durable Object by up to a queue batch: asks until `count` are there,
 * or returns what there is after EVENT_DELIVERY_MS.
 */
export async function eventsOf(sub, type, count = 1) {
  const deadline = Date.now() + EVENT_DELIVERY_MS;
  for (;;) {
    const response = await fetch(`${GATEWAY}/auth/admin/events?${new URLSearchParams({ sub, type })}`, { headers: adminHeaders });
    assert.equal(response.status, 200);
    const { events } = await response.json();
    if (events.length >= count || Date.now() > deadline) return events;
    await sleep(250);
  }
}

/** Registers a user through the API directly (no browser). */
export async function registerUser(label) {
  const username = uniqueUsername(label);
  const response = await fetch(`${GATEWAY}/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  assert.equal(response.status, 201);
  return username;
}
