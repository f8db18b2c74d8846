// The scenarios of `npm run bench` for what an origin asks of the gateway besides forwarding:
// introspection against its floor, and a refresh whose claims hook call is due against one whose
// claims are fresh, with a local hook (bench/run.mjs starts both). bench/load.mjs sends the requests.
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { interleaved } from "../load.mjs";
import { serverPaths, startServer } from "../servers.mjs";

const REQUEST_TIMEOUT_MS = 30_000;
const INTROSPECTION_USERS = 10;
const INTROSPECTION_CONNECTIONS = 8;
const HOOK_CLIENTS = 8;
// Sessions each hook client refreshes in turn: with CLAIMS_TTL_SECONDS=1 on the due side, a
// session comes round again after about this many refreshes' time, over a second at the
// latencies of a local run, so (nearly) every refresh there finds its claims due. The hook counts
// what it was asked, and the report prints the share.
const SESSIONS_PER_HOOK_CLIENT = 60;

/**
 * Parts 12 of `npm run bench` (bench/run.mjs): `introspection` against the first server at `base`,
 * and `claims-hook` on servers of its own, each when `runs(part)`, timed by `timed`; answers the
 * results' fields (`introspection`, `claimsHook`) of the parts that ran.
 */
export async function claimsParts({ runs, timed, base, state, envFile, config, run, adminToken, settings, log }) {
  const claims = claimsScenariosFor({ base, run, adminToken, settings, log });
  const results = {};
  if (runs("introspection")) results.introspection = await timed("introspection", () => claims.introspectionComparison());
  if (runs("claims-hook")) results.claimsHook = await timed("claims-hook", async () => claims.claimsHookComparison(await claimsHookServers({ state, envFile, config, log })));
  return results;
}

/**
 * A claims hook on 127.0.0.1 that answers at once (`{"claims":{"role","plan"}}`) and counts its
 * calls by path, so each side of the comparison can have its own; the floor of a hook, so what is
 * measured is the gateway's side of the call.
 */
export async function startClaimsHook() {
  const calls = new Map();
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const path = new URL(`http://hook${request.url ?? "/"}`).pathname;
      calls.set(path, (calls.get(path) ?? 0) + 1);
      response.writeHead(200, { "Content-Type": "application/json" }).end('{"claims":{"role":"member","plan":"pro"}}');
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = server.address();
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    calls: (path) => calls.get(path) ?? 0,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve(undefined));
    }),
  };
}

/**
 * The servers of the claims hook comparison: a local hook (`startClaimsHook`) and two more servers
 * of the bench worker, started together, both asking it (signed, as in production), one with
 * CLAIMS_TTL_SECONDS=1 (a refresh of a session not refreshed within the second asks) and one with
 * a day (refreshes never ask), so they differ in whether the hook is due alone. `stop` stops all three.
 */
export async function claimsHookServers({ state, envFile, config, log }) {
  const hook = await startClaimsHook();
  const secret = randomBytes(32).toString("base64url");
  const server = (name, path, ttl) => {
    log(`starting wrangler dev with the bench worker, ${name}`);
    const vars = [`CLAIMS_HOOK_URL:${hook.url(path)}`, `CLAIMS_TTL_SECONDS:${ttl}`, `ORIGIN_SIGNING_SECRET:${secret}`];
    return startServer({ ...serverPaths(state, name), config, readyPath: "/.well-known/jwks.json", extra: () => ["--env-file", envFile, ...vars.flatMap((value) => ["--var", value])] });
  };
  let servers = [];
  try {
    servers = await Promise.all([server("claims-hook-due", "/due", 1), server("claims-fresh", "/fresh", 86_400)]);
  } catch (error) {
    await Promise.all([...servers.map((started) => started.stop()), hook.stop()]);
    throw error;
  }
  const [due, fresh] = servers;
  return { dueBase: due.base, freshBase: fresh.base, hook, duePath: "/due", freshPath: "/fresh", stop: () => Promise.all([due.stop(), fresh.stop(), hook.stop()]) };
}

/** The scenarios against the bench worker at `base`, as `scenariosFor` (bench/scenarios.mjs) takes them. */
export function claimsScenariosFor({ base, run, adminToken, settings, log }) {
  const { REQUESTS, REFRESH_REQUESTS, SECONDS, ROUNDS, WARMUP } = settings;
  return { introspectionComparison, claimsHookComparison };

  /**
   * 12. `POST /auth/introspect` (the access token verified, one RPC to the user's object that reads
   * its session) vs its floor (`/bench/introspect-floor`: the same form and Bearer check, one RPC
   * that reads one SQLite row), 10 users, 8 connections.
   */
  async function introspectionComparison() {
    const tokens = [];
    for (let user = 0; user < INTROSPECTION_USERS; user += 1) tokens.push((await openSession(base, `bench-introspect-${run}-${user}`)).access_token);
    log(`introspection vs floor, ${INTROSPECTION_USERS} users, ${INTROSPECTION_CONNECTIONS} connections`);
    let inactive = 0;
    const comparison = await interleaved(
      [
        {
          name: "introspection floor",
          concurrency: INTROSPECTION_CONNECTIONS,
          limit: REQUESTS,
          send: (client) => form(`${base}/bench/introspect-floor`, { token: `bench-introspect-floor-${run}-${client % INTROSPECTION_USERS}` }),
        },
        {
          name: "introspection",
          concurrency: INTROSPECTION_CONNECTIONS,
          limit: REQUESTS,
          send: async (client) => {
            const response = await form(`${base}/auth/introspect`, { token: tokens[client % INTROSPECTION_USERS] });
            if (response.ok && (await response.clone().json()).active !== true) inactive += 1;
            return response;
          },
        },
      ],
      { rounds: ROUNDS, warmup: WARMUP, seconds: SECONDS },
    );
    // An access token lives 300 s; every answer of the run must have been active.
    if (inactive > 0) throw new Error(`introspection answered {"active":false} ${inactive} times`);
    return { key: `${INTROSPECTION_USERS} users, ${INTROSPECTION_CONNECTIONS} connections`, ...comparison };
  }

  /**
   * 12. A refresh whose claims hook call is due vs one whose claims are fresh, on the servers of
   * `claimsHookServers` (stopped after): `dueBase` with CLAIMS_TTL_SECONDS=1 and `freshBase` with a day, so they differ in whether a refresh asks the hook. Each client is one
   * user and refreshes its own sessions in turn; the hook's call count says how many refreshes asked.
   */
  async function claimsHookComparison(servers) {
    try {
      return await compareDueAndFresh(servers);
    } finally {
      await servers.stop();
    }
  }

  async function compareDueAndFresh({ dueBase, freshBase, hook, duePath, freshPath }) {
    const sessions = { due: [], fresh: [] };
    for (const [side, sideBase] of [["due", dueBase], ["fresh", freshBase]]) {
      log(`opening ${HOOK_CLIENTS * SESSIONS_PER_HOOK_CLIENT} sessions on the ${side} side (each asks the hook once)`);
      for (let client = 0; client < HOOK_CLIENTS; client += 1) {
        const mine = [];
        for (let batch = 0; batch < SESSIONS_PER_HOOK_CLIENT; batch += 10) {
          // One user per client (60 sessions, under MAX_SESSIONS_PER_USER), as a user's devices.
          const opened = await Promise.all(Array.from({ length: 10 }, () => openSession(sideBase, `bench-claims-${side}-${run}-${client}`)));
          mine.push(...opened.map((pair) => pair.refresh_token));
        }
        sessions[side].push({ tokens: mine, next: 0 });
      }
    }
    // Past the due side's TTL: its first refreshes find their claims due too.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const asked = { due: hook.calls(duePath), fresh: hook.calls(freshPath) };
    const refreshes = { due: 0, fresh: 0 };
    const chain = (side, sideBase) => async (client) => {
      const own = sessions[side][client];
      const index = own.next;
      own.next = (index + 1) % own.tokens.length;
      const response = await post(`${sideBase}/auth/refresh`, { refresh_token: own.tokens[index] });
      if (response.ok) {
        own.tokens[index] = (await response.clone().json()).refresh_token;
        refreshes[side] += 1;
      }
      return response;
    };
    log(`refresh with the claims hook due vs fresh, ${HOOK_CLIENTS} clients`);
    const comparison = await interleaved(
      [
        { name: "refresh, claims fresh", concurrency: HOOK_CLIENTS, limit: REFRESH_REQUESTS, send: chain("fresh", freshBase) },
        { name: "refresh, claims hook due", concurrency: HOOK_CLIENTS, limit: REFRESH_REQUESTS, send: chain("due", dueBase) },
      ],
      // No warm-up beyond one refresh per client: it would spend the due side's first calls.
      { rounds: ROUNDS, warmup: 0, seconds: SECONDS },
    );
    const hookCalls = { due: hook.calls(duePath) - asked.due, fresh: hook.calls(freshPath) - asked.fresh };
    return {
      key: `${HOOK_CLIENTS} clients, ${SESSIONS_PER_HOOK_CLIENT} sessions each`,
      ...comparison,
      hook: {
        refreshes,
        calls: hookCalls,
        dueShare: refreshes.due > 0 ? hookCalls.due / refreshes.due : 0,
        freshShare: refreshes.fresh > 0 ? hookCalls.fresh / refreshes.fresh : 0,
      },
    };
  }

  async function openSession(at, sub) {
    const response = await post(`${at}/auth/admin/sessions`, { sub }, { Authorization: `Bearer ${adminToken}` });
    if (response.status !== 201) throw new Error(`POST /auth/admin/sessions answered ${response.status}: ${await response.text()}`);
    return response.json();
  }

  function form(url, fields) {
    return fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${adminToken}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }

  function post(url, body, headers = {}) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }
}
