// The example origin (examples/origin-api/server.mjs, `npm run example:origin`) behind a real
// `wrangler dev` of the gateway, both started here on free ports of 127.0.0.1: a request through
// the gateway reaches it signed, with the caller, the access token's claims and the client's
// address as the gateway saw it; a request straight to the origin is refused, whatever identity it
// claims. Run with `npm run test:e2e` (scripts/e2e.mjs builds dist/origin, which the example imports).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ROOT } from "../../scripts/lib/dev-vars.mjs";
import { freePort } from "../../scripts/lib/wrangler.mjs";
import { ownGateway } from "./own-gateway.mjs";

const secret = randomBytes(32).toString("base64url");
const adminToken = randomBytes(32).toString("hex");
let origin;
let originUrl;
let gateway;
let gatewayServer;

before(async () => {
  const originPort = await freePort();
  originUrl = `http://127.0.0.1:${originPort}`;
  // The gateway first: its port is known once it listens, and the origin is told it.
  gatewayServer = ownGateway("origin");
  await gatewayServer.start({
    ORIGIN_URL: originUrl,
    ORIGIN_SIGNING_SECRET: secret,
    PUBLIC_PATH_PREFIXES: "/public",
    ADMIN_API_TOKEN: adminToken,
  });
  gateway = gatewayServer.url;

  origin = spawn(process.execPath, [join(ROOT, "examples", "origin-api", "server.mjs")], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(originPort), GATEWAY_URL: gateway, ORIGIN_SIGNING_SECRET: secret },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    origin.stdout.on("data", (chunk) => String(chunk).includes("listening on") && resolve());
    origin.once("exit", (code) => reject(new Error(`the example origin exited with code ${code}`)));
  });
});

after(async () => {
  await gatewayServer?.stop();
  origin?.kill("SIGTERM");
});

/** Opens a session for a new user with custom claims through the admin route. */
async function openSession(claims) {
  const sub = `e2e-origin-${randomBytes(4).toString("hex")}`;
  const response = await fetch(`${gateway}/auth/admin/sessions`, {
    method: "POST",
    headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sub, claims }),
  });
  assert.equal(response.status, 201);
  return { sub, ...(await response.json()) };
}

describe("the example origin behind wrangler dev", () => {
  it("gets a signed request through the gateway with the caller, the token's claims and the client's address", async () => {
    const { sub, session_id, access_token } = await openSession({ role: "editor", plan: "pro" });
    const response = await fetch(`${gateway}/api/me?from=e2e`, {
      headers: { Authorization: `Bearer ${access_token}`, "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example", "X-Auth-User": "admin" },
    });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.user, sub);
    assert.equal(body.session, session_id);
    assert.equal(body.claims.role, "editor");
    assert.equal(body.claims.plan, "pro");
    assert.equal(body.claims.iss, gateway);
    // The address the gateway saw (wrangler dev's CF-Connecting-IP), never the client's claim.
    assert.deepEqual(body.client, { address: "127.0.0.1", proto: "http", host: new URL(gateway).host });
  });

  it("gets a public path's signed request without a user, and with one when a token comes along", async () => {
    const anonymous = await fetch(`${gateway}/public/hello`);
    assert.equal(anonymous.status, 200);
    assert.deepEqual(await anonymous.json(), { hello: "anonymous" });
    const { sub, access_token } = await openSession({});
    const signedIn = await fetch(`${gateway}/public/hello`, { headers: { Authorization: `Bearer ${access_token}` } });
    assert.deepEqual(await signedIn.json(), { hello: sub });
  });

  it("refuses with 401 a request that did not come through the gateway, whatever identity or signature it claims", async () => {
    const direct = await fetch(`${originUrl}/api/me`, { headers: { "X-Auth-User": "admin", "X-Auth-Session": "s" } });
    assert.equal(direct.status, 401);
    assert.equal((await direct.json()).error, "missing");
    const forged = await fetch(`${originUrl}/api/me`, {
      headers: { "X-Auth-User": "admin", "X-Auth-Timestamp": String(Math.floor(Date.now() / 1000)), "X-Auth-Signature": `v1=${randomBytes(32).toString("base64url")}` },
    });
    assert.equal(forged.status, 401);
    assert.equal((await forged.json()).error, "bad_signature");
    const publicPath = await fetch(`${originUrl}/public/hello`);
    assert.equal(publicPath.status, 401);
  });

  it("never reaches the origin without a token on a protected path: the gateway answers 401 itself", async () => {
    const response = await fetch(`${gateway}/api/me`);
    assert.equal(response.status, 401);
    assert.equal((await response.json()).error, "unauthorized");
  });
});
