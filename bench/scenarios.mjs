// The scenarios of `npm run bench` (bench/run.mjs), each against one running bench worker: what
// is measured, against which floor, with how many clients. bench/load.mjs sends the requests.
import { createHash, randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, SignJWT } from "jose";
import { benchClient, REQUEST_TIMEOUT_MS } from "./http.mjs";
import { interleaved, median } from "./load.mjs";

const GATEWAY_CONNECTIONS = [8, 32];
/**
 * The refresh cases of scenario 3 (scenario 5 runs the second one again); the peers take their
 * turns in the rounds of the cases marked `peers`.
 */
export const REFRESH_CASES = [
  { key: "1 user", users: 1, clients: 1, peers: true },
  { key: "10 users", users: 10, clients: 10, peers: true },
  { key: "100 users", users: 100, clients: 100, peers: true },
  { key: "50 clients, 1 user", users: 1, clients: 50, peers: false },
];
const LOGIN_CLIENTS = 8;

/**
 * The scenarios against the bench worker at `base`. `run` makes this run's user ids and
 * usernames unique, `adminToken` is the worker's ADMIN_API_TOKEN, `settings` the run's bounds
 * (bench/run.mjs) and `log` where progress goes.
 */
export function scenariosFor({ base, run, adminToken, settings, log }) {
  const { admin, get, post, json, openSession, settledD1Writes } = benchClient({ base, adminToken });
  const { REQUESTS, REFRESH_REQUESTS, LOGIN_REQUESTS, SECONDS, ROUNDS, WARMUP, VERIFY_REQUESTS, VERIFY_BATCHES, VERIFY_ITERATIONS } = settings;
  return { verifyTimings, gatewayComparisons, signingComparison, dpopComparison, refreshComparisons, loginComparison };

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
   * 8. What signing every forwarded request (ORIGIN_SIGNING_SECRET) costs: the same verified
   * request to `unsignedBase` and `signedBase`, two servers of the same worker and keys started
   * together, the second with the secret set (one HMAC-SHA256 per request), echo origin behind both.
   */
  async function signingComparison(unsignedBase, signedBase) {
    const { access_token: token } = await openSession(`bench-signing-${run}`);
    log("gateway: signing on vs off, 8 connections");
    const comparison = await interleaved(
      [
        { name: "signing off", concurrency: 8, limit: REQUESTS, send: () => get(`${unsignedBase}/api/ping`, { Authorization: `Bearer ${token}` }) },
        { name: "signing on", concurrency: 8, limit: REQUESTS, send: () => get(`${signedBase}/api/ping`, { Authorization: `Bearer ${token}` }) },
      ],
      { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
    );
    return { key: "8 connections", ...comparison };
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
   * one returned) vs the refresh floor with the same clients and users, and in the cases marked
   * `peers`, each of `peers` (bench/peers.mjs) with a session per client of its own taking its
   * turn in the same rounds; then the D1 statements this gateway's refreshes caused, counted in
   * D1 once the outboxes have drained.
   */
  async function refreshComparisons(cases, prefix, peers = []) {
    // Every session is opened before D1 is first counted, so only refreshes are counted.
    const chains = [];
    const peerChains = [];
    for (const entry of cases) {
      const tokens = [];
      for (let client = 0; client < entry.clients; client += 1) {
        tokens.push((await openSession(`${prefix}${entry.users}-${client % entry.users}`)).refresh_token);
      }
      chains.push(tokens);
      const measured = entry.peers ? peers : [];
      peerChains.push(
        await Promise.all(
          measured.map(async (peer) => ({
            peer,
            sessions: await Promise.all(Array.from({ length: entry.clients }, (_, client) => peer.openSession(`${prefix}${entry.users}-${client}`))),
          })),
        ),
      );
    }
    const before = await settledD1Writes(prefix);
    let refreshes = 0;
    const comparisons = [];
    for (const [index, entry] of cases.entries()) {
      log(`refresh vs floor${peerChains[index].length > 0 ? " and peers" : ""}, ${entry.key}${prefix.endsWith("-off-") ? " (AUDIT_REFRESH_EVENTS=false)" : ""}`);
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
          ...peerChains[index].map(({ peer, sessions }) => ({
            name: peer.name,
            concurrency: entry.clients,
            limit: REFRESH_REQUESTS,
            send: (client) => peer.refresh(sessions[client]),
          })),
        ],
        { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
      );
      comparisons.push({ key: entry.key, users: entry.users, peers: peerChains[index].map(({ peer }) => peer.name), ...comparison });
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
}
