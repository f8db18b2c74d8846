#!/usr/bin/env node
// npm run bench:capacity [-- --check]
//
// Recomputes the capacity model of docs/scale.md ("Capacity") from the cost curves `npm run bench`
// wrote into docs/charts/ and the per-request figures below, and writes its tables between the
// markers there. With --check it only fails (exit 1) when docs/scale.md is not what it would
// write: test/scripts/capacity.test.mjs runs that, so the document cannot drift from its inputs.
// The arithmetic is bench/capacity-model.mjs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { capacityAt, capacityTable, formatBytes, formatCount, formatNumber, LIMIT_NAMES, rowsPerRefreshOf, usersAtLimit, withCapacityTable } from "./capacity-model.mjs";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
const DOC = join(ROOT, "docs", "scale.md");
export const SIZES = [10_000, 1_000_000, 100_000_000];

/** How people use it: assumptions, stated in the document above the tables. */
export const USAGE = {
  refreshSeconds: 300,
  peakActiveShare: 0.1,
  averageActiveShare: 0.04,
  sessionsPerUser: 2,
  loginsPerUserPerDay: 0.2,
  apiRequestsPerActiveSecond: 0.05,
  retentionDays: 90,
};

/** What the code does per request (src/sessions/lifecycle.ts, src/accounts/login-guard.ts, wrangler.toml). */
export const CODE = {
  recordIntervalSeconds: 3_600,
  messagesPerLogin: 2,
  throttleCallsPerLogin: 4,
  userCallsPerLogin: 1,
  consumerBatchRows: 100,
};

/**
 * Figures the bench measured that are not curves (docs/scale.md says which run): CPU of a whole
 * refresh and login in local workerd, everything in one process (the worker, the objects, D1,
 * the queue and its consumer), so an upper bound of what a deployed request costs; D1 bytes of
 * one `refresh` event with its indexes. The session and user rows are estimates of the same
 * kind of row (src/db/, migrations/).
 */
export const MEASURED = {
  refreshCpuMs: 7.4,
  loginCpuMs: 29.3,
  eventRowBytes: 298,
  sessionRowBytes: 300,
  userRowBytes: 250,
};

/** Cloudflare's limits, with their sources in docs/scale.md ("Sources"). */
export const LIMITS = {
  queueMessagesPerSecond: 5_000,
  d1DatabaseBytes: 10e9,
  // Not a documented figure: D1 runs one query at a time, about 1,000 a second at 1 ms each; a
  // batch of 100 inserts in one transaction is taken as 10 ms (not measurable locally).
  d1BatchCallsPerSecond: 100,
  objectRequestsPerSecond: 1_000,
  // The busiest UserAuth object: MAX_SESSIONS_PER_USER (100) sessions refreshing every 300 s.
  busiestObjectRequestsPerSecond: 100 / 300,
  cpuMsPerInvocation: 30_000,
};

/** The costs the curves give: a verification's CPU (the smallest token) and a user's object at `sessionsPerUser`. */
export function costsFromCharts(charts, usage = USAGE, measured = MEASURED) {
  const verify = charts["verify-vs-token-size"].series.find((line) => line.name === "this gateway").points;
  const [, verifyMicroseconds] = verify.reduce((smallest, point) => (point[0] < smallest[0] ? point : smallest));
  const storage = charts["storage-per-user"].series[0].points;
  return { ...measured, verifyCpuMs: verifyMicroseconds / 1000, objectBytesPerUser: interpolate(storage, usage.sessionsPerUser) * 1024 };
}

/** y at `x` on a curve of [x, y] points, linearly between its points, held flat past its ends. */
export function interpolate(points, x) {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  if (x <= sorted[0][0]) return sorted[0][1];
  for (let index = 1; index < sorted.length; index += 1) {
    const [x1, y1] = sorted[index];
    const [x0, y0] = sorted[index - 1];
    if (x <= x1) return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  }
  return sorted.at(-1)[1];
}

/** The generated part of docs/scale.md's capacity section: both tables and where each limit is reached. */
export function capacitySection(charts) {
  const costs = costsFromCharts(charts);
  const blocks = [true, false].map((refreshEvents) => {
    const usage = { ...USAGE, refreshEvents };
    const models = SIZES.map((users) => capacityAt(users, { usage, code: CODE, costs, limits: LIMITS }));
    const reached = ["d1Storage", "queue", "d1Writes"]
      .map((name) => `${LIMIT_NAMES[name]} at about ${formatCount(roundUsers(usersAtLimit(models[0], name)))} users`)
      .join("; ");
    const title = refreshEvents ? "**Per-rotation events on** (`AUDIT_REFRESH_EVENTS=true`, the default)" : "**Per-rotation events off** (`AUDIT_REFRESH_EVENTS=false`)";
    return `${title}: ${formatNumber(rowsPerRefreshOf(usage, CODE))} queue messages (D1 rows) per refresh. One database, one queue: ${reached}.\n\n${capacityTable(models)}`;
  });
  const inputs = [
    `Inputs: verification ${formatNumber(costs.verifyCpuMs)} ms of CPU (docs/charts/verify-vs-token-size.json, smallest token)`,
    `a user's object ${formatBytes(costs.objectBytesPerUser)} at ${USAGE.sessionsPerUser} sessions (docs/charts/storage-per-user.json)`,
    `refresh ${MEASURED.refreshCpuMs} ms and login ${MEASURED.loginCpuMs} ms of CPU (local workerd, all of it)`,
    `${MEASURED.eventRowBytes} B an event row in D1 [bench].`,
  ].join(", ");
  return `${inputs}\n\n${blocks.join("\n\n")}`;
}

/** Users rounded to two significant figures, so the sentence reads as the estimate it is. */
function roundUsers(users) {
  const magnitude = 10 ** Math.max(0, Math.floor(Math.log10(users)) - 1);
  return Math.round(users / magnitude) * magnitude;
}

/** The charts of docs/charts/ the model reads, by id. */
export function readCharts(dir = join(ROOT, "docs", "charts")) {
  return Object.fromEntries(["verify-vs-token-size", "storage-per-user"].map((id) => [id, JSON.parse(readFileSync(join(dir, `${id}.json`), "utf8"))]));
}

/** Rewrites docs/scale.md's capacity tables; with `check`, only says whether they are up to date. */
export function writeCapacity({ check = false } = {}) {
  const before = readFileSync(DOC, "utf8");
  const after = withCapacityTable(before, capacitySection(readCharts()));
  if (after === before) return { changed: false };
  if (!check) writeFileSync(DOC, after);
  return { changed: true };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  const { changed } = writeCapacity({ check });
  if (check && changed) {
    console.error("docs/scale.md: the capacity tables are out of date; run npm run bench:capacity.");
    process.exit(1);
  }
  console.log(changed ? "docs/scale.md: capacity tables rewritten from docs/charts/." : "docs/scale.md: the capacity tables are up to date.");
}
