// The report of `npm run bench`: Markdown tables of one run, every figure next to the floor it is
// measured against, the peers and the race, the cost curves, and the targets of docs/scale.md's
// bench section checked as ratios.
import { ratioOf } from "./load.mjs";

const TARGETS = {
  storageGrowthKB: 8,
  sessionsLatencyGrowth: 1.5,
  verifyOverFloor: 1.3,
  gatewayOverPassThrough: 0.95,
  signingOnOverOff: 0.97,
  refreshP50OverFloor: 1.3,
  statementsWithEvents: 1100,
  statementsWithoutEvents: 100,
  d1CallsWithEvents: 50,
  federationP50OverFloor: 1.5,
  passkeyP50OverFloor: 1.3,
};

const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const met = (ok) => (ok ? "met" : "**missed**");

/** The report of one run (the object bench/run.mjs saves as JSON); a part that did not run (`--only`) is left out. */
export function report(results) {
  const s = results.settings;
  const sections = [
    `wrangler dev (local workerd) on 127.0.0.1, Node ${results.node} fetch clients on the same machine, ${results.seconds} s in all, ` +
      `load average ${results.loadAverage.atStart.join(" ")} at the start and ${results.loadAverage.atEnd.join(" ")} at the end. ` +
      `The sides of each comparison took turns in rounds (up to ${s.ROUNDS}) after ${s.WARMUP} warm-up requests each; ` +
      "a ratio is the median of the rounds' own ratios (p99: of the p99s over all rounds). " +
      `Seconds per part: ${Object.entries(results.partSeconds).map(([part, value]) => `${part} ${value}`).join(", ")}.`,
    results.verification && verificationTable(results.verification, s),
    results.gateway && gatewayTable(results.gateway, s),
    results.signing && signingTable(results.signing, s),
    results.dpop && dpopTable(results.dpop, s),
    results.introspection && introspectionTable(results.introspection, s),
    results.claimsHook && claimsHookTable(results.claimsHook, s),
    (results.refresh || results.refreshWithoutEvents) && refreshTable(results.refresh, results.refreshWithoutEvents, s),
    results.refresh?.comparisons.some((comparison) => comparison.peers.length > 0) && peerTable(results.refresh.comparisons, s),
    results.race && raceTable(results.race),
    results.refresh && results.refreshWithoutEvents && d1Table(results.refresh.d1, results.refreshWithoutEvents.d1),
    results.login && loginTable(results.login, s),
    results.federation && federationTable(results.federation),
    results.passkey && passkeyTable(results.passkey),
    results.curves && curvesSection(results.curves),
    results.eventsQueue && eventsQueueTable(results.eventsQueue),
    results.build && buildLine(results.build),
    targetsTable(results),
  ];
  return sections.filter(Boolean).join("\n\n");
}

function verificationTable(rows, s) {
  return [
    `**Access-token verification inside workerd**, µs per verification, median of ${rows[0].batches} batches of ${s.VERIFY_ITERATIONS} ` +
      "(the verifiers take turns batch by batch; a ratio is the median of each batch's ratio to the floor batch next to it):",
    "",
    "| algorithm | floor: `crypto.subtle.verify` | this gateway | Hono `verifyWithJwks` | gateway / floor | Hono / floor |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(({ alg, microseconds: us, overFloor }) =>
      `| ${alg} | ${fixed(us.floor, 1)} | ${fixed(us.gateway, 1)} | ${fixed(us.hono, 1)} | ${fixed(overFloor.gateway)}x | ${fixed(overFloor.hono)}x |`,
    ),
  ].join("\n");
}

function dpopTable({ rounds, ratio, scenarios: [bearer, dpop] }, s) {
  return [
    `**DPoP-bound vs Bearer token** at the gateway (echo origin, 8 connections), at most ${s.REQUESTS} requests or ${s.SECONDS} s each:`,
    "",
    "| rounds | Bearer req/s | DPoP req/s | Bearer p50 ms | DPoP p50 ms | DPoP p99 ms | DPoP / Bearer: req/s, p50 |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${rounds} | ${fixed(bearer.rps, 0)} | ${fixed(dpop.rps, 0)} | ${fixed(bearer.p50)} | ${fixed(dpop.p50)} | ${fixed(dpop.p99)} | ${fixed(ratio.rps)}x, ${fixed(ratio.p50)}x |`,
  ].join("\n");
}

function introspectionTable({ key, rounds, ratio, scenarios: [floor, introspection] }, s) {
  return [
    `**Introspection vs its floor** (\`POST /auth/introspect\`: the token verified, one RPC reading the session in the user's object; the floor: the same form and Bearer check, one RPC reading one SQLite row), ${key}, at most ${s.REQUESTS} requests or ${s.SECONDS} s each:`,
    "",
    "| rounds | floor req/s | introspection req/s | floor p50 ms | introspection p50 ms | introspection p99 ms | introspection / floor: p50, req/s |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${rounds} | ${fixed(floor.rps, 0)} | ${fixed(introspection.rps, 0)} | ${fixed(floor.p50)} | ${fixed(introspection.p50)} | ${fixed(introspection.p99)} | ${fixed(ratio.p50)}x, ${fixed(ratio.rps)}x |`,
  ].join("\n");
}

function claimsHookTable({ key, rounds, ratio, scenarios: [fresh, due], hook }, s) {
  const share = (value) => `${fixed(value * 100, 0)}%`;
  return [
    `**Refresh with the claims hook due vs claims fresh** (a local hook that answers at once; two servers of the same worker started together, \`CLAIMS_TTL_SECONDS\` 1 and a day), ${key}, at most ${s.REFRESH_REQUESTS} requests or ${s.SECONDS} s each; the share of refreshes that asked the hook, counted by the hook:`,
    "",
    "| rounds | fresh req/s | due req/s | fresh p50 ms | due p50 ms | due p99 ms | due / fresh: p50, req/s | refreshes that asked: due, fresh |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${rounds} | ${fixed(fresh.rps, 0)} | ${fixed(due.rps, 0)} | ${fixed(fresh.p50)} | ${fixed(due.p50)} | ${fixed(due.p99)} | ${fixed(ratio.p50)}x, ${fixed(ratio.rps)}x | ${share(hook.dueShare)}, ${share(hook.freshShare)} |`,
  ].join("\n");
}

function signingTable({ rounds, ratio, scenarios: [off, on] }, s) {
  return [
    `**Signing on vs off** (\`ORIGIN_SIGNING_SECRET\`: one HMAC-SHA256 per forwarded request; two servers of the same worker started together, echo origin, 8 connections), at most ${s.REQUESTS} requests or ${s.SECONDS} s each:`,
    "",
    "| rounds | off req/s | on req/s | off p50 ms | on p50 ms | on p99 ms | on / off: req/s, p50 |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${rounds} | ${fixed(off.rps, 0)} | ${fixed(on.rps, 0)} | ${fixed(off.p50)} | ${fixed(on.p50)} | ${fixed(on.p99)} | ${fixed(ratio.rps)}x, ${fixed(ratio.p50)}x |`,
  ].join("\n");
}

function gatewayTable(comparisons, s) {
  return [
    `**Gateway vs pass-through** (same worker, echo origin; the pass-through path is public, so no verification), at most ${s.REQUESTS} requests or ${s.SECONDS} s each:`,
    "",
    "| connections | rounds | pass-through req/s | gateway req/s | pass-through p50 ms | gateway p50 ms | gateway p99 ms | gateway / pass-through: req/s, p50 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...comparisons.map(({ key, rounds, ratio, scenarios: [pass, gateway] }) =>
      `| ${key.split(" ")[0]} | ${rounds} | ${fixed(pass.rps, 0)} | ${fixed(gateway.rps, 0)} | ${fixed(pass.p50)} | ${fixed(gateway.p50)} | ${fixed(gateway.p99)} | ${fixed(ratio.rps)}x, ${fixed(ratio.p50)}x |`,
    ),
  ].join("\n");
}

function refreshTable(withEvents, withoutEvents, s) {
  const rows = [
    ...(withEvents?.comparisons ?? []).map((comparison) => ({ ...comparison, events: "on" })),
    ...(withoutEvents?.comparisons ?? []).map((comparison) => ({ ...comparison, events: "off, no grace" })),
  ];
  return [
    `**Refresh vs its floor** (one Durable Object RPC with one SQLite write, plus the access-token signature), one refresh chain per client, at most ${s.REFRESH_REQUESTS} requests or ${s.SECONDS} s each:`,
    "",
    "| clients | per-rotation events | rounds | floor req/s | refresh req/s | floor p50 ms | refresh p50 ms | refresh p99 ms | refresh / floor: p50, req/s |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map(({ key, events, rounds, ratio, scenarios: [floor, refresh] }) =>
      `| ${key} | ${events} | ${rounds} | ${fixed(floor.rps, 0)} | ${fixed(refresh.rps, 0)} | ${fixed(floor.p50)} | ${fixed(refresh.p50)} | ${fixed(refresh.p99)} | ${fixed(ratio.p50)}x, ${fixed(ratio.rps)}x |`,
    ),
  ].join("\n");
}

function d1Table(withEvents, withoutEvents) {
  const row = (label, d1) => `| ${label} | ${d1.refreshes} | ${d1.events} | ${d1.records} | ${fixed(d1.statementsPer1000, 0)} | ${fixed(d1.bytesPerRefresh, 0)} |`;
  return [
    "**D1 statements per 1,000 refreshes**, counted in D1 after the outboxes drained (each statement the outbox sends writes one row: a new audit event, or a session record whose version moves), and how much the database grew:",
    "",
    "| per-rotation events | refreshes | audit events written | session records written | D1 statements per 1,000 refreshes | D1 bytes per refresh |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row("on (default)", withEvents),
    row("off (`AUDIT_REFRESH_EVENTS=false`)", withoutEvents),
  ].join("\n");
}

function loginTable({ key, rounds, ratio, scenarios: [floor, login] }, s) {
  return [
    `**Login vs PBKDF2**, ${key}, one account per client, at most ${s.LOGIN_REQUESTS} requests or ${s.SECONDS} s each, ${rounds} rounds:`,
    "",
    "| scenario | req/s | p50 ms | p99 ms |",
    "| --- | ---: | ---: | ---: |",
    `| one PBKDF2-SHA256, 100,000 iterations (floor) | ${fixed(floor.rps, 0)} | ${fixed(floor.p50)} | ${fixed(floor.p99)} |`,
    `| POST /auth/login, right password | ${fixed(login.rps, 0)} | ${fixed(login.p50)} | ${fixed(login.p99)} |`,
    `| login / floor | ${fixed(ratio.rps)}x | ${fixed(ratio.p50)}x | |`,
  ].join("\n");
}

function eventsQueueTable({ d1, burst }) {
  return [
    "**The EVENTS queue**: the D1 calls the queue's consumer made of 10 users' refreshes (one `db.batch` per queue batch of up to 100 messages or 5 s), " +
      "and a burst of reuse events, one per user, at the local webhook receiver (verified with `standardwebhooks`, de-duplicated by `webhook-id`):",
    "",
    "| refreshes | queue batches | D1 calls | D1 calls per 1,000 refreshes |",
    "| ---: | ---: | ---: | ---: |",
    `| ${d1.refreshes} | ${d1.batches} | ${d1.calls} | ${fixed(d1.callsPer1000, 1)} |`,
    "",
    "| users (reuse events) | refused 400 | webhooks received, unique | duplicates | not verified | all answered after | all received after |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${burst.users} | ${burst.refused} | ${burst.received} | ${burst.duplicates} | ${burst.unverified} | ${fixed(burst.answeredSeconds, 1)} s | ${fixed(burst.seconds, 1)} s |`,
  ].join("\n");
}

function federationTable({ rounds, ratio, upstream, scenarios: [floor, gateway] }) {
  return [
    `**Sign-in through an upstream OpenID provider** (the local oidc-provider, a returning user; the trip to its login form not timed), ${gateway.signIns} sign-ins per side in ${rounds} rounds, one at a time:`,
    "",
    "| side | p50 ms | p99 ms |",
    "| --- | ---: | ---: |",
    `| ${floor.name} | ${fixed(floor.p50, 1)} | ${fixed(floor.p99, 1)} |`,
    `| ${gateway.name} | ${fixed(gateway.p50, 1)} | ${fixed(gateway.p99, 1)} |`,
    "",
    `p50 over the floor: ${fixed(ratio.p50)}x (target at most ${TARGETS.federationP50OverFloor}x). The provider served ${upstream.discovery} discovery and ${upstream.jwks} JWKS documents during the ${upstream.tokenRequests} token requests (target: none).`,
  ].join("\n");
}

function passkeyTable({ rounds, ratio, optionsP50, scenarios: [floor, gateway] }) {
  return [
    `**Passkey login** (a returning user's ES256 passkey, answered in the bench's process), ${gateway.logins} logins per side in ${rounds} rounds, one at a time:`,
    "",
    "| side | p50 ms | p99 ms |",
    "| --- | ---: | ---: |",
    `| ${floor.name} | ${fixed(floor.p50, 1)} | ${fixed(floor.p99, 1)} |`,
    `| ${gateway.name} | ${fixed(gateway.p50, 1)} | ${fixed(gateway.p99, 1)} |`,
    "",
    `p50 over the floor: ${fixed(ratio.p50)}x (target at most ${TARGETS.passkeyP50OverFloor}x). The options request before each login (POST /auth/passkeys/authentication, not in the ratio): p50 ${fixed(optionsP50, 1)} ms.`,
  ].join("\n");
}

function buildLine(build) {
  if (!build.ok) return `**Build**: not measured (${build.problem}).`;
  return `**Build** (\`wrangler check startup\`, offline): deploy bundle ${build.bundleKiB} KiB, ${build.gzipKiB} KiB gzipped; startup ${build.startupMs ?? "n/a"} ms of CPU in the local profile.`;
}

function targetsTable(results) {
  const rows = [];
  for (const { alg, overFloor, gatewayOverHono } of results.verification ?? []) {
    rows.push([`verification ${alg}: at most ${TARGETS.verifyOverFloor}x the floor`, `${fixed(overFloor.gateway)}x`, overFloor.gateway <= TARGETS.verifyOverFloor]);
    rows.push([`verification ${alg}: faster than Hono`, `${fixed(gatewayOverHono)}x Hono's time`, gatewayOverHono < 1]);
  }
  for (const { key, ratio } of results.gateway ?? []) {
    rows.push([`gateway at ${key}: at least ${TARGETS.gatewayOverPassThrough}x the pass-through's req/s`, `${fixed(ratio.rps)}x`, ratio.rps >= TARGETS.gatewayOverPassThrough]);
  }
  if (results.signing) {
    const signing = results.signing.ratio.rps;
    rows.push([`signing on: at least ${TARGETS.signingOnOverOff}x the req/s with it off`, `${fixed(signing)}x`, signing >= TARGETS.signingOnOverOff]);
  }
  const ten = results.refresh?.comparisons.find((comparison) => comparison.key === "10 users");
  if (ten) {
    rows.push([`refresh p50 at 10 users: at most ${TARGETS.refreshP50OverFloor}x the floor`, `${fixed(ten.ratio.p50)}x`, ten.ratio.p50 <= TARGETS.refreshP50OverFloor]);
    ten.peers.forEach((peer, index) => {
      const { p50, p99 } = ratioOf(ten, index + 2, 1);
      rows.push([`refresh at 10 users: p50 at most ${peer}'s`, `${fixed(p50)}x ours`, p50 >= 1]);
      rows.push([`refresh at 10 users: p99 below ${peer}'s`, `${fixed(p99)}x ours`, p99 > 1]);
    });
  }
  if (results.refresh && results.refreshWithoutEvents) {
    const on = results.refresh.d1.statementsPer1000;
    const off = results.refreshWithoutEvents.d1.statementsPer1000;
    rows.push([`D1 statements per 1,000 refreshes, events on: at most ${TARGETS.statementsWithEvents}`, fixed(on, 0), on <= TARGETS.statementsWithEvents]);
    rows.push([`D1 statements per 1,000 refreshes, events off: at most ${TARGETS.statementsWithoutEvents}`, fixed(off, 0), off <= TARGETS.statementsWithoutEvents]);
  }
  const curve = (id) => results.curves?.charts.find((chart) => chart.id === id);
  const rotations = curve("storage-vs-rotations");
  if (rotations) {
    const [first, last] = [rotations.series[0].points[0], rotations.series[0].points.at(-1)];
    rows.push([`storage of a session flat in its rotations (${first[0]} to ${last[0]}): within ${TARGETS.storageGrowthKB} KB`, `${fixed(last[1] - first[1], 1)} KB`, last[1] - first[1] <= TARGETS.storageGrowthKB]);
  }
  const sessions = curve("refresh-vs-sessions");
  if (sessions) {
    const points = sessions.series[0].points;
    const growth = points.at(-1)[1] / points[0][1];
    rows.push([`refresh p50 flat from ${points[0][0]} to ${points.at(-1)[0]} sessions per user: within ${TARGETS.sessionsLatencyGrowth}x`, `${fixed(growth)}x`, growth <= TARGETS.sessionsLatencyGrowth]);
  }
  if (results.eventsQueue) {
    const { d1, burst } = results.eventsQueue;
    rows.push([`D1 calls per 1,000 refreshes, events on: at most ${TARGETS.d1CallsWithEvents}`, fixed(d1.callsPer1000, 1), d1.callsPer1000 <= TARGETS.d1CallsWithEvents]);
    const complete = burst.received === burst.users && burst.unverified === 0;
    rows.push([`a burst of ${burst.users} reuse events: every webhook received, each verified`, `${burst.received} of ${burst.users} in ${fixed(burst.seconds, 1)} s`, complete]);
  }
  if (results.passkey) {
    const { ratio } = results.passkey;
    rows.push([`passkey login p50: at most ${TARGETS.passkeyP50OverFloor}x the floor`, `${fixed(ratio.p50)}x`, ratio.p50 <= TARGETS.passkeyP50OverFloor]);
  }
  if (rows.length === 0) return null;
  if (results.federation) {
    const { ratio, upstream } = results.federation;
    rows.push([`federated sign-in p50: at most ${TARGETS.federationP50OverFloor}x the floor`, `${fixed(ratio.p50)}x`, ratio.p50 <= TARGETS.federationP50OverFloor]);
    const fetched = upstream.discovery + upstream.jwks;
    rows.push(["federated sign-in: no discovery or JWKS fetch per sign-in", `${fetched} in ${upstream.tokenRequests} sign-ins`, fetched === 0]);
  }
  return ["**Targets**", "", "| target | this run | |", "| --- | ---: | --- |", ...rows.map(([what, value, ok]) => `| ${what} | ${value} | ${met(ok)} |`)].join("\n");
}

/** Each peer against this gateway's refresh, from the same rounds: its figures and its ratios over ours. */
function peerTable(comparisons, s) {
  const rows = [];
  for (const comparison of comparisons.filter((entry) => entry.peers.length > 0)) {
    const ours = comparison.scenarios[1];
    rows.push(`| ${comparison.key} | this gateway | ${fixed(ours.p50)} | ${fixed(ours.p99)} | ${fixed(ours.rps, 0)} | 1 | 1 | 1 |`);
    comparison.peers.forEach((peer, index) => {
      const scenario = comparison.scenarios[index + 2];
      const ratio = ratioOf(comparison, index + 2, 1);
      rows.push(`| ${comparison.key} | ${peer} | ${fixed(scenario.p50)} | ${fixed(scenario.p99)} | ${fixed(scenario.rps, 0)} | ${fixed(ratio.p50)} | ${fixed(ratio.p99)} | ${fixed(ratio.rps)} |`);
    });
  }
  return [
    `**Refresh vs the peers** (the refresh grant of each, one chain per user, in the same rounds as ours), at most ${s.REFRESH_REQUESTS} requests or ${s.SECONDS} s each; a ratio over 1 in p50 or p99 is slower than ours, in req/s faster:`,
    "",
    "| users | server | p50 ms | p99 ms | req/s | p50 / ours | p99 / ours | req/s / ours |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
}

/** The 50-way race on one refresh token, per server. */
function raceTable(races) {
  const events = (race) => (race.events ? Object.entries(race.events).map(([type, n]) => `${n} ${type}`).join(", ") : "none (no audit trail)");
  return [
    `**The race**: one refresh token sent by ${races[0].clients} requests at once, then each distinct successor that came back refreshed once:`,
    "",
    "| server | answers | distinct successors | successors that still work | user logged out | audit events in D1 |",
    "| --- | --- | ---: | ---: | --- | --- |",
    ...races.map((race) => {
      const answers = Object.entries(race.statuses).map(([status, n]) => `${n} × ${status}`).join(", ");
      return `| ${race.name} | ${answers} | ${race.distinctSuccessors} | ${race.successorsThatWork} | ${race.loggedOut ? "yes" : "no"} | ${events(race)} |`;
    }),
  ].join("\n");
}

/** The cost curves, one line per chart: each point's x and its first series' value. */
function curvesSection(curves) {
  const lines = curves.charts.map((chart) => {
    const values = chart.series.map((line) => `${line.name}: ${line.points.map(([x, y]) => `${formatX(x)} → ${fixed(y, y < 10 ? 2 : 0)}`).join(", ")}`);
    return `- **${chart.title}** (\`${chart.id}\`; x: ${chart.x.label}${chart.x.unit ? ` in ${chart.x.unit}` : ""}, y: ${chart.y.label} in ${chart.y.unit}): ${values.join("; ")}`;
  });
  const seconds = Object.entries(curves.seconds).map(([name, value]) => `${name} ${value} s`).join(", ");
  return [`**Cost curves** (${seconds}; seeding D1 ${curves.auditSeedingSeconds} s), drawn in docs/charts/:`, "", ...lines].join("\n");
}

function formatX(x) {
  return x >= 10_000 ? `${Math.round(x / 1000)}k` : String(Math.round(x));
}
