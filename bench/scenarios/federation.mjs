// Scenario 9 of `npm run bench` (bench/run.mjs): a sign-in through an upstream OpenID provider,
// the local oidc-provider (scripts/lib/local-idp.mjs) on 127.0.0.1, as a returning user. Measured:
// what the gateway does once the provider sends the browser back, the callback
// (GET /auth/oidc/callback: state, the upstream token request, the ID token's claims and
// signature, the identity in D1, a code in the user's object) plus the code exchange
// (POST /auth/token: the session opened in the user's object). Its floor (bench/federation-floor.ts),
// in the same two requests the protocol has: one upstream token request and one ID token
// verification, then one session opening. The trip to the provider before each
// (authorize, its login form) is the user's, not the gateway's, and is not timed. The provider's
// discovery and JWKS documents are counted: none per sign-in once the gateway has them.
import { createHash, randomBytes } from "node:crypto";
import { median, quantile } from "../load.mjs";

/** The gateway side's two requests, timed apart (ms), for the report. */
const parts = { callback: [], token: [] };

const BENCH_APP = { client_id: "bench-app", redirect_uri: "http://127.0.0.1:9/bench-app" };
const CLIENT_ID = "gateway-public";

export { startLocalIdp } from "../../scripts/lib/local-idp.mjs";

/** `OIDC_PROVIDERS` and `OAUTH_CLIENTS` for the bench worker (`NAME:VALUE`, as `--var` takes them), with the local provider at `issuer`. */
export function federationVars(issuer) {
  return [
    `OIDC_PROVIDERS:${JSON.stringify([{ id: "local", issuer, client_id: CLIENT_ID }])}`,
    `OAUTH_CLIENTS:${JSON.stringify([{ client_id: BENCH_APP.client_id, redirect_uris: [BENCH_APP.redirect_uri] }])}`,
  ];
}

/**
 * Sign-ins of two returning users, `settings.SIGN_INS` per side in up to `settings.ROUNDS` turns, each side measured
 * sign-in by sign-in (the provider's login excluded). Returns the p50 and p99 of each side, the
 * ratio of p50s as the median of each round's, and the provider's document counts during the run.
 */
export async function federationComparison({ base, idp, adminToken, run, settings, log }) {
  const signIns = settings.SIGN_INS;
  const rounds = Math.min(settings.ROUNDS, signIns);
  log(`federated sign-in (callback + /auth/token) vs its floor, ${signIns} sign-ins each`);
  const users = [`bench-${run}-a`, `bench-${run}-b`];
  const sides = [
    { name: "floor: token request + ID token check, then a session", once: (user) => floorSignIn(base, idp, adminToken, user) },
    { name: "callback + /auth/token", once: (user) => gatewaySignIn(base, idp, user) },
  ];
  // Warm: discovery and keys in the gateway's isolate, the users created at their first sign-in.
  for (const side of sides) for (const user of users) await side.once(user);
  const before = await counts(idp);
  parts.callback.length = parts.token.length = 0;
  const perRound = Math.max(1, Math.floor(signIns / rounds));
  const samples = [[], []];
  const roundP50 = [[], []];
  for (let round = 0; round < rounds; round += 1) {
    for (const index of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const times = [];
      for (let i = 0; i < perRound; i += 1) times.push(await sides[index].once(users[i % users.length]));
      samples[index].push(...times);
      roundP50[index].push(median(times));
    }
  }
  const after = await counts(idp);
  const stats = (times) => {
    const sorted = [...times].sort((a, b) => a - b);
    return { signIns: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
  };
  return {
    rounds,
    scenarios: sides.map((side, index) => ({ name: side.name, ...stats(samples[index]) })),
    ratio: { p50: median(roundP50[1].map((p50, round) => p50 / roundP50[0][round])) },
    parts: { callbackP50: median(parts.callback), tokenP50: median(parts.token) },
    upstream: { discovery: after.discovery - before.discovery, jwks: after.jwks - before.jwks, tokenRequests: after.token - before.token },
  };
}

/** One sign-in through the gateway; resolves with the milliseconds of the callback plus the exchange. */
async function gatewaySignIn(base, idp, user) {
  const jar = new Map();
  const verifier = randomBytes(32).toString("base64url");
  const authorize = new URL(`${base}/auth/authorize`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: BENCH_APP.client_id,
    redirect_uri: BENCH_APP.redirect_uri,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: randomBytes(8).toString("hex"),
    provider: "local",
  }).toString();
  const upstream = await request(jar, authorize.href);
  // The bench worker's ISSUER is fixed (bench/wrangler.toml), its port is not: the callback the
  // provider names is reached on the port this server listens on.
  const named = new URL(await loginAtProvider(jar, idp, location(upstream, authorize.href), user));
  const callback = `${base}${named.pathname}${named.search}`;

  const started = performance.now();
  const answer = await request(jar, callback);
  const code = new URL(location(answer, callback)).searchParams.get("code");
  if (!code) throw new Error(`the callback answered ${answer.status} ${answer.headers.get("Location")}`);
  parts.callback.push(performance.now() - started);
  const exchangeStarted = performance.now();
  const exchange = await fetch(`${base}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: BENCH_APP.redirect_uri, client_id: BENCH_APP.client_id, code_verifier: verifier }),
  });
  if (exchange.status !== 200) throw new Error(`/auth/token answered ${exchange.status}: ${await exchange.text()}`);
  await exchange.json();
  parts.token.push(performance.now() - exchangeStarted);
  return performance.now() - started;
}

/** One sign-in's floor; resolves with the milliseconds of the floor's one request. */
async function floorSignIn(base, idp, adminToken, user) {
  const jar = new Map();
  const verifier = randomBytes(32).toString("base64url");
  const redirectUri = `${base}/auth/oidc/callback`;
  const authorize = new URL(`${idp}/auth`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    scope: "openid email profile",
    state: randomBytes(8).toString("hex"),
    nonce: randomBytes(8).toString("hex"),
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  }).toString();
  const callback = await loginAtProvider(jar, idp, authorize.href, user);
  const code = new URL(callback).searchParams.get("code");

  const started = performance.now();
  const headers = { "Content-Type": "application/json", Authorization: `Bearer ${adminToken}` };
  const checked = await fetch(`${base}/bench/federation-floor/callback`, {
    method: "POST",
    headers,
    body: JSON.stringify({ issuer: idp, client_id: CLIENT_ID, code, code_verifier: verifier, redirect_uri: redirectUri }),
  });
  if (checked.status !== 200) throw new Error(`/bench/federation-floor/callback answered ${checked.status}: ${await checked.text()}`);
  await checked.json();
  const session = await fetch(`${base}/bench/federation-floor/session`, { method: "POST", headers, body: JSON.stringify({ user }) });
  if (session.status !== 200) throw new Error(`/bench/federation-floor/session answered ${session.status}: ${await session.text()}`);
  await session.json();
  return performance.now() - started;
}

/** From the provider's authorization endpoint through its login form to the gateway's callback URL (not visited). */
async function loginAtProvider(jar, idp, url, user) {
  let next = url;
  for (let step = 0; step < 8; step += 1) {
    if (next.includes("/auth/oidc/callback")) return next;
    const interaction = /\/interaction\/([\w-]+)$/.exec(new URL(next).pathname);
    const response = interaction
      ? (await request(jar, next), await request(jar, `${next}/login`, { login: user }))
      : await request(jar, next);
    next = location(response, next);
  }
  throw new Error("the provider did not send the browser back");
}

async function request(jar, url, form) {
  const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
  const response = await fetch(url, {
    method: form ? "POST" : "GET",
    redirect: "manual",
    headers: { ...(cookie ? { Cookie: cookie } : {}), ...(form ? { "Content-Type": "application/x-www-form-urlencoded" } : {}) },
    body: form ? new URLSearchParams(form) : undefined,
  });
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const equals = pair.indexOf("=");
    const value = pair.slice(equals + 1);
    if (value === "" || /max-age=0/i.test(line)) jar.delete(pair.slice(0, equals));
    else jar.set(pair.slice(0, equals), value);
  }
  await response.arrayBuffer();
  return response;
}

function location(response, from) {
  const target = response.headers.get("Location");
  if (!target) throw new Error(`expected a redirect from ${from}, got ${response.status}`);
  return new URL(target, from).href;
}

async function counts(idp) {
  return (await fetch(`${idp}/__counts`)).json();
}
