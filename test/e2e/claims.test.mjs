// Introspection and the claims hook from outside, over HTTP, against a real `wrangler dev` of the
// gateway started here on a free port of 127.0.0.1, with a claims hook beside it: a Node server
// that checks every call with the origin SDK (dist/origin, which scripts/e2e.mjs builds) and
// answers a role. Run with `npm run test:e2e -- test/e2e/claims.test.mjs`.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";
import * as oauth from "oauth4webapi";
import { GatewayVerificationError, verifyNodeRequest } from "../../dist/origin/index.js";
import { freePort } from "../../scripts/lib/wrangler.mjs";
import { ownGateway } from "./own-gateway.mjs";

const secret = randomBytes(32).toString("base64url");
const adminToken = randomBytes(32).toString("hex");
const introspectionToken = randomBytes(32).toString("hex");
/** What the hook received, by user: the body, and what the SDK's check said. */
const calls = new Map();
let hook;
let gateway;
let gatewayServer;

before(async () => {
  hook = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    let verified;
    try {
      verified = await verifyNodeRequest(request, { secret });
    } catch (error) {
      if (!(error instanceof GatewayVerificationError)) throw error;
      response.writeHead(401).end(error.code);
      return;
    }
    const made = [...(calls.get(verified.user) ?? []), { url: request.url, body, verified }];
    calls.set(verified.user, made);
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ claims: { role: "editor", call: made.length } }));
  });
  const hookPort = await freePort();
  await new Promise((resolve) => hook.listen(hookPort, "127.0.0.1", resolve));

  gatewayServer = ownGateway("claims");
  await gatewayServer.start({
    CLAIMS_HOOK_URL: `http://127.0.0.1:${hookPort}/claims?from=gateway`,
    // One second, so that a refresh a second later finds its claims due.
    CLAIMS_TTL_SECONDS: "1",
    ORIGIN_SIGNING_SECRET: secret,
    ADMIN_API_TOKEN: adminToken,
    INTROSPECTION_TOKEN: introspectionToken,
    REGISTRATIONS_PER_IP_PER_HOUR: "1000",
  });
  gateway = gatewayServer.url;
});

after(async () => {
  await gatewayServer?.stop();
  hook?.closeAllConnections();
  hook?.close();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

function postJson(path, body, headers = {}) {
  return fetch(`${gateway}${path}`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

function introspect(token, auth = introspectionToken) {
  return fetch(`${gateway}/auth/introspect`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...(auth ? { Authorization: `Bearer ${auth}` } : {}) },
    body: new URLSearchParams(token === undefined ? {} : { token }),
  });
}

async function openSession() {
  const sub = `e2e-claims-${randomBytes(4).toString("hex")}`;
  const response = await postJson("/auth/admin/sessions", { sub, claims: { plan: "pro" } }, { Authorization: `Bearer ${adminToken}` });
  assert.equal(response.status, 201);
  return { sub, ...(await response.json()) };
}

describe("the claims hook behind wrangler dev", () => {
  it("is asked when a password login opens a session, signed over its path and query, and its claims are in the access token", async () => {
    const username = `e2e.claims.${randomBytes(4).toString("hex")}`;
    const registered = await postJson("/auth/register", { username, password: "correct horse battery" });
    assert.equal(registered.status, 201);
    const { user_id } = await registered.json();
    const login = await postJson("/auth/login", { username, password: "correct horse battery" });
    assert.equal(login.status, 200);
    const pair = await login.json();
    const [call, ...more] = calls.get(user_id);
    assert.deepEqual(more, []);
    assert.equal(call.url, "/claims?from=gateway");
    assert.deepEqual(call.verified, { user: user_id, session: pair.session_id, claims: null });
    assert.deepEqual(call.body, { sub: user_id, sid: pair.session_id, amr: ["pwd"], claims: {} });
    assert.equal(claimsOf(pair.access_token).role, "editor");
  });

  it("replaces the admin route's claims, and is asked once by ten refreshes that find the claims due at once", async () => {
    const pair = await openSession();
    assert.deepEqual(calls.get(pair.sub).map((call) => call.body.claims), [{ plan: "pro" }]);
    assert.equal(claimsOf(pair.access_token).plan, undefined);
    assert.equal(claimsOf(pair.access_token).call, 1);
    // CLAIMS_TTL_SECONDS is 1: a second later the session's claims are due.
    await sleep(1_100);
    const answers = await Promise.all(Array.from({ length: 10 }, () => postJson("/auth/refresh", { refresh_token: pair.refresh_token })));
    assert.deepEqual(answers.map((answer) => answer.status), Array(10).fill(200));
    const pairs = await Promise.all(answers.map((answer) => answer.json()));
    assert.equal(calls.get(pair.sub).length, 2);
    assert.ok(pairs.some((next) => claimsOf(next.access_token).call === 2));
  });
});

describe("POST /auth/introspect behind wrangler dev", () => {
  it("answers an active token with the contract's fields, and {active:false} the moment its session is logged out", async () => {
    const pair = await openSession();
    const active = await introspect(pair.access_token);
    assert.equal(active.status, 200);
    assert.equal(active.headers.get("cache-control"), "no-store");
    const claims = claimsOf(pair.access_token);
    assert.deepEqual(await active.json(), {
      active: true,
      sub: pair.sub,
      sid: pair.session_id,
      exp: claims.exp,
      iat: claims.iat,
      amr: ["adm"],
      auth_time: claims.auth_time,
      token_type: "Bearer",
    });
    assert.equal((await postJson("/auth/logout", { refresh_token: pair.refresh_token })).status, 204);
    assert.deepEqual(await (await introspect(pair.access_token)).json(), { active: false });
  });

  it("answers 401 without the introspection or admin token, 400 invalid_request without a token, and {active:false} to garbage", async () => {
    const pair = await openSession();
    const anonymous = await introspect(pair.access_token, null);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get("www-authenticate"), 'Bearer realm="introspection"');
    assert.equal((await anonymous.json()).error, "unauthorized");
    assert.equal((await introspect(pair.access_token, "wrong")).status, 401);
    assert.equal((await introspect(pair.access_token, adminToken)).status, 200);
    const missing = await introspect(undefined);
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error, "invalid_request");
    assert.deepEqual(await (await introspect("garbage")).json(), { active: false });
  });

  it("is found in the metadata and spoken by oauth4webapi", async () => {
    const issuer = new URL(gateway);
    const options = { [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: "oauth2" }));
    assert.equal(as.introspection_endpoint, `${gateway}/auth/introspect`);
    const pair = await openSession();
    const client = { client_id: "e2e-origin" };
    const bearer = (_as, _client, _body, headers) => headers.set("Authorization", `Bearer ${introspectionToken}`);
    const answer = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, bearer, pair.access_token, options));
    assert.equal(answer.active, true);
    assert.equal(answer.sub, pair.sub);
  });
});
