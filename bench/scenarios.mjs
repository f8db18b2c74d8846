// The scenarios of `npm run bench` (bench/run.mjs), each against one running bench worker: what
// is measured, against which floor, with how many clients. bench/load.mjs sends the requests.
import { createHash, randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { interleaved, measure, median } from "./load.mjs";

const GATEWAY_CONNECTIONS = [8, 32];
/** The refresh cases of scenario 3 (scenario 5 runs the second one again). */
export const REFRESH_CASES = [
  { key: "1 user", users: 1, clients: 1 },
  { key: "10 users", users: 10, clients: 10 },
  { key: "100 users", users: 100, clients: 100 },
  { key: "50 clients, 1 user", users: 1, clients: 50 },
];
const LOGIN_CLIENTS = 8;
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The scenarios against the bench worker at `base`. `run` makes this run's user ids and
 * usernames unique, `adminToken` is the worker's ADMIN_API_TOKEN, `settings` the run's bounds
 * (bench/run.mjs) and `log` where progress goes.
 */
export function scenariosFor({ base, run, adminToken, settings, log }) {
  const { REQUESTS, REFRESH_REQUESTS, LOGIN_REQUESTS, SECONDS, ROUNDS, WARMUP, VERIFY_REQUESTS, VERIFY_BATCHES, VERIFY_ITERATIONS, QUEUE_REFRESHES, BURST_USERS } = settings;
  return { verifyTimings, gatewayComparisons, dpopComparison, refreshComparisons, loginComparison, eventsQueue };

  /**
   * 1. Microseconds per verification inside workerd, per algorithm and verifier (medians over every
   * batch), and the ratios to the floor as medians of each batch's ratio to the floor batch that
   * ran next to it, which a change in the machine's load between batches does not skew.
   */
  async function verifyTimings(keys) {
    const tokens = [await accessToken(keys.ES256), await accessToken(keys.EdDSA)];
    log(`verification: ${VERIFY_REQUESTS} requests x ${VERIFY_BATCHES} batches x ${VERIFY_ITERATIONS} verifications per verifier and algorithm`);
    const batches = tokens.map(() => ({ floor: [], gateway: [], hono: [] }));
    for (let request = 0; request < VERIFY_REQUESTS; request += 1) {
      const { results } = await json(await post(`${base}/bench/verify`, { tokens, batches: VERIFY_BATCHES, iterations: VERIFY_ITERATIONS }, 120_000, admin()));
      results.forEach((timings, index) => {
        for (const [verifier, values] of Object.entries(timings)) batches[index][verifier].push(...values);
      });
    }
    const pairedRatio = ({ floor, ...others }, verifier) => median(floor.map((microseconds, index) => others[verifier][index] / microseconds));
    return ["ES256", "EdDSA"].map((alg, index) => ({
      alg,
      batches: batches[index].floor.length,
      iterations: VERIFY_ITERATIONS,
      microseconds: Object.fromEntries(Object.entries(batches[index]).map(([verifier, values]) => [verifier, median(values)])),
      overFloor: { gateway: pairedRatio(batches[index], "gateway"), hono: pairedRatio(batches[index], "hono") },
      gatewayOverHono: median(batches[index].gateway.map((microseconds, batch) => microseconds / batches[index].hono[batch])),
    }));
  }

  /** 2. The gateway (ES256 access token verified) vs the pass-through path (public, not verified), echo origin behind both. */
  async function gatewayComparisons() {
    const { access_token: token } = await openSession(`bench-gateway-${run}`);
    const comparisons = [];
    for (const connections of GATEWAY_CONNECTIONS) {
      log(`gateway vs pass-through, ${connections} connections`);
      const comparison = await interleaved(
        [
          // The same token in a header the pass-through ignores: both requests and both echoes are the same size.
          { name: "pass-through", concurrency: connections, limit: REQUESTS, send: () => get(`${base}/bench/pass-through/ping`, { "X-Bench-Token": token }) },
          { name: "gateway", concurrency: connections, limit: REQUESTS, send: () => get(`${base}/api/ping`, { Authorization: `Bearer ${token}` }) },
        ],
        { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
      );
      comparisons.push({ key: `${connections} connections`, ...comparison });
    }
    return comparisons;
  }

  /**
   * 7. What a DPoP-bound token costs the gateway: the proof's signature check and its claims, on
   * top of the access token's. The proof is made once and sent with every request (the gateway
   * keeps no proof ids, RFC 9449 section 11.1), so the client's signing is not measured; it is
   * made again before its `iat` leaves the 60 s window.
   */
  async function dpopComparison() {
    const bearerSession = await openSession(`bench-dpop-bearer-${run}`);
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    const jwk = await exportJWK(publicKey);
    const proof = async (method, url, claims = {}) =>
      new SignJWT({ htm: method, htu: url, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), ...claims })
        .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
        .sign(privateKey);
    const opened = await post(`${base}/auth/admin/sessions`, { sub: `bench-dpop-bound-${run}` }, REQUEST_TIMEOUT_MS, {
      ...admin(),
      DPoP: await proof("POST", `${base}/auth/admin/sessions`),
    });
    const bound = await json(opened);
    if (bound.token_type !== "DPoP") throw new Error("the DPoP session did not come back bound");
    const url = `${base}/api/ping`;
    const ath = createHash("sha256").update(bound.access_token).digest("base64url");
    let current = { proof: await proof("GET", url, { ath }), madeAt: Date.now() };
    const headers = async () => {
      if (Date.now() - current.madeAt > 30_000) current = { proof: await proof("GET", url, { ath }), madeAt: Date.now() };
      return { Authorization: `DPoP ${bound.access_token}`, DPoP: current.proof };
    };
    log("gateway: DPoP-bound vs Bearer token, 8 connections");
    const comparison = await interleaved(
      [
        { name: "gateway, Bearer token", concurrency: 8, limit: REQUESTS, send: () => get(url, { Authorization: `Bearer ${bearerSession.access_token}` }) },
        { name: "gateway, DPoP-bound token", concurrency: 8, limit: REQUESTS, send: async () => get(url, await headers()) },
      ],
      { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
    );
    return { key: "8 connections", ...comparison };
  }

  /**
   * 3 and 5. Refresh chains (one session per client, each request presents the token the previous
   * one returned) vs the refresh floor with the same clients and users; then the D1 statements all
   * those refreshes caused, counted in D1 once the outboxes have drained.
   */
  async function refreshComparisons(cases, prefix) {
    // Every session is opened before D1 is first counted, so only refreshes are counted.
    const chains = [];
    for (const entry of cases) {
      const tokens = [];
      for (let client = 0; client < entry.clients; client += 1) {
        tokens.push((await openSession(`${prefix}${entry.users}-${client % entry.users}`)).refresh_token);
      }
      chains.push(tokens);
    }
    const before = await settledD1Writes(prefix);
    let refreshes = 0;
    const comparisons = [];
    for (const [index, entry] of cases.entries()) {
      log(`refresh vs floor, ${entry.key}${prefix.endsWith("-off-") ? " (AUDIT_REFRESH_EVENTS=false)" : ""}`);
      const tokens = chains[index];
      const comparison = await interleaved(
        [
          {
            name: "refresh floor",
            concurrency: entry.clients,
            limit: REFRESH_REQUESTS,
            send: async (client) => {
              const response = await post(`${base}/bench/refresh-floor`, { user: `bench-floor-${run}-${entry.users}-${client % entry.users}` }, REQUEST_TIMEOUT_MS, admin());
              if (response.ok) await response.clone().json();
              return response;
            },
          },
          {
            name: "refresh",
            concurrency: entry.clients,
            limit: REFRESH_REQUESTS,
            send: async (client) => {
              const response = await post(`${base}/auth/refresh`, { refresh_token: tokens[client] });
              if (response.ok) {
                tokens[client] = (await response.clone().json()).refresh_token;
                refreshes += 1;
              }
              return response;
            },
          },
        ],
        { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
      );
      comparisons.push({ key: entry.key, ...comparison });
    }
    const after = await settledD1Writes(prefix);
    const events = after.events - before.events;
    const records = Object.keys(after.versions).filter((id) => after.versions[id] !== before.versions[id]).length;
    const bytes = after.databaseBytes - before.databaseBytes;
    return { comparisons, d1: { refreshes, events, records, statementsPer1000: ((events + records) / refreshes) * 1000, bytesPerRefresh: bytes / refreshes } };
  }

  /** 4. Logins with the right password (one account per client) vs one PBKDF2 derivation. */
  async function loginComparison() {
    log("login vs PBKDF2");
    const password = randomBytes(12).toString("hex");
    const usernames = [];
    for (let client = 0; client < LOGIN_CLIENTS; client += 1) {
      const username = `bench.login.${run}.${client}`;
      const response = await post(`${base}/auth/register`, { username, password });
      if (response.status !== 201) throw new Error(`POST /auth/register answered ${response.status}: ${await response.text()}`);
      usernames.push(username);
    }
    const comparison = await interleaved(
      [
        { name: "PBKDF2 floor", concurrency: LOGIN_CLIENTS, limit: LOGIN_REQUESTS, send: () => post(`${base}/bench/password-floor`, {}, REQUEST_TIMEOUT_MS, admin()) },
        { name: "login", concurrency: LOGIN_CLIENTS, limit: LOGIN_REQUESTS, send: (client) => post(`${base}/auth/login`, { username: usernames[client], password }) },
      ],
      { rounds: ROUNDS, warmup: Math.min(WARMUP, 20), seconds: SECONDS },
    );
    return { key: `${LOGIN_CLIENTS} clients`, ...comparison };
  }

  /**
   * An access token as the gateway signs them (src/tokens/access.ts), under one of the bench's
   * keys, for the bench worker's ISSUER and AUDIENCE (bench/wrangler.toml).
   */
  async function accessToken(jwk) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: "at+jwt" })
      .setIssuer("http://127.0.0.1:8787")
      .setAudience("edge-auth-gateway")
      .setSubject(`bench-verify-${run}`)
      .setJti(crypto.randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(await importJWK(jwk, jwk.alg));
  }

  /**
   * 8. What the EVENTS queue changes. First the D1 calls of refreshes with per-rotation events on:
   * 10 users refresh `QUEUE_REFRESHES` times in all, as fast as they can, and the bench worker's
   * meter counts the calls the queue's consumer makes to D1 (one per queue batch). Then a burst:
   * `BURST_USERS` users each present a refresh token two generations old at once, and each reuse
   * event must reach the local webhook receiver (bench/webhook-receiver.mjs: verified with
   * `standardwebhooks`, de-duplicated by `webhook-id`); the time is from the first reuse sent to
   * the last webhook received.
   */
  async function eventsQueue(receiver) {
    log(`events queue: D1 calls of ${QUEUE_REFRESHES} refreshes, 10 users`);
    const tokens = [];
    for (let user = 0; user < 10; user += 1) tokens.push((await openSession(`bench-queue-${run}-${user}`)).refresh_token);
    const before = await settledQueue();
    let refreshes = 0;
    const refreshing = await measure(
      async (client) => {
        const response = await post(`${base}/auth/refresh`, { refresh_token: tokens[client] });
        if (response.ok) {
          tokens[client] = (await response.clone().json()).refresh_token;
          refreshes += 1;
        }
        return response;
      },
      { concurrency: 10, limit: QUEUE_REFRESHES, seconds: 120 },
    );
    const after = await settledQueue();
    const calls = after.d1Calls - before.d1Calls;
    const d1 = { refreshes, calls, batches: after.batches - before.batches, callsPer1000: (calls / refreshes) * 1000, errors: refreshing.errors };

    log(`events queue: a burst of ${BURST_USERS} reuse events to the webhook receiver`);
    const firstTokens = [];
    let opened = 0;
    await measure(
      async () => {
        const user = opened++;
        const first = await openSession(`bench-burst-${run}-${user}`);
        firstTokens[user] = first.refresh_token;
        let token = first.refresh_token;
        for (let rotation = 0; rotation < 2; rotation += 1) token = (await json(await post(`${base}/auth/refresh`, { refresh_token: token }))).refresh_token;
        return new Response(null, { status: 204 });
      },
      { concurrency: 50, limit: BURST_USERS, seconds: 300 },
    );
    await settledQueue();
    const alreadyReceived = receiver.received("refresh_token_reuse");
    const started = performance.now();
    let next = 0;
    const replays = await measure(() => post(`${base}/auth/refresh`, { refresh_token: firstTokens[next++] }).then((response) => new Response(null, { status: response.status === 400 ? 204 : 500 })), {
      concurrency: 50,
      limit: firstTokens.length,
      seconds: 300,
    });
    const answeredSeconds = (performance.now() - started) / 1000;
    const received = (await receiver.waitFor("refresh_token_reuse", alreadyReceived + firstTokens.length, 180_000)) - alreadyReceived;
    const snapshot = receiver.snapshot("refresh_token_reuse");
    await settledQueue();
    const burst = {
      users: firstTokens.length,
      refused: replays.latencies.length - replays.errors,
      received,
      duplicates: receiver.snapshot("refresh_token_reuse").duplicates,
      unverified: snapshot.unverified,
      answeredSeconds,
      seconds: (snapshot.lastAt - started) / 1000,
    };
    return { d1, burst };
  }

  /**
   * What the bench worker's queue consumer has done, once nothing waits in the queue and no batch
   * is being handled on two reads a second apart: everything the objects sent has been handled.
   */
  async function settledQueue() {
    let last = null;
    for (let attempt = 0; attempt < 60; attempt += 1) {
      const current = await json(await get(`${base}/bench/events-queue`, admin()));
      const idle = current.backlog === 0 && current.inFlight === 0;
      if (idle && last !== null && last.batches === current.batches && last.messages === current.messages) return current;
      last = idle ? current : null;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error("the events queue did not settle within 60 s");
  }

  /** What reached D1 from the users under `prefix`, once the queue has settled and two reads a second apart agree. */
  async function settledD1Writes(prefix) {
    await settledQueue();
    let last = null;
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const current = await json(await get(`${base}/bench/d1-writes?prefix=${encodeURIComponent(prefix)}`, admin()));
      if (last !== null && JSON.stringify(current) === JSON.stringify(last)) return current;
      last = current;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    throw new Error("D1 writes did not settle within 30 s");
  }

  async function openSession(sub) {
    const response = await post(`${base}/auth/admin/sessions`, { sub }, REQUEST_TIMEOUT_MS, admin());
    if (response.status !== 201) throw new Error(`POST /auth/admin/sessions answered ${response.status}: ${await response.text()}`);
    return response.json();
  }

  /** The admin token's header: the admin routes and the bench routes require it. */
  function admin() {
    return { Authorization: `Bearer ${adminToken}` };
  }

  function get(url, headers = {}) {
    return fetch(url, { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }

  function post(url, body, timeoutMs = REQUEST_TIMEOUT_MS, headers = {}) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  }

  async function json(response) {
    if (!response.ok) throw new Error(`${response.url} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }
}
