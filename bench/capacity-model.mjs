// The capacity model of docs/scale.md: what a deployment of `users` asks of Cloudflare, from the
// costs the bench measured (docs/charts/*.json and the figures in bench/capacity.mjs), the code's
// own constants and stated assumptions about how people use it. Pure: no I/O, no clock, so
// test/scripts/capacity.test.mjs checks its arithmetic on small inputs.

const DAY_SECONDS = 86_400;

/**
 * What one deployment of `users` costs at its busiest hour (per second) and per day.
 *
 * - `usage`: `refreshSeconds` (ACCESS_TOKEN_TTL_SECONDS: a client refreshes once per access-token
 *   lifetime), `peakActiveShare` and `averageActiveShare` (the users with a client open at the
 *   busiest hour, and over the whole day), `sessionsPerUser`, `loginsPerUserPerDay`,
 *   `apiRequestsPerActiveSecond` (gateway requests of one open client), `refreshEvents`
 *   (AUDIT_REFRESH_EVENTS), `retentionDays` (AUDIT_RETENTION_SECONDS).
 * - `code`: `recordIntervalSeconds` (a session's D1 record is rewritten at most this often),
 *   `messagesPerLogin` (its session record and its `login` event), `throttleCallsPerLogin` and
 *   `userCallsPerLogin` (LoginThrottle and UserAuth calls), `consumerBatchRows` (rows per D1 call).
 * - `costs`: CPU milliseconds of a verification, a refresh and a login; bytes of an event row, a
 *   session row, a user row in D1; bytes of one user's Durable Object.
 * - `limits`: see `bindingLimit`.
 */
export function capacityAt(users, { usage, code, costs, limits }) {
  const peakClients = users * usage.peakActiveShare;
  const averageClients = users * usage.averageActiveShare;
  // Logins follow activity: the busiest hour gets its share of the day's logins.
  const peakLoginFactor = usage.peakActiveShare / usage.averageActiveShare;
  const perSecond = {
    gateway: peakClients * usage.apiRequestsPerActiveSecond,
    refreshes: peakClients / usage.refreshSeconds,
    logins: ((users * usage.loginsPerUserPerDay) / DAY_SECONDS) * peakLoginFactor,
  };
  const rowsPerRefresh = rowsPerRefreshOf(usage, code);
  const requests = perSecond.gateway + perSecond.refreshes + perSecond.logins;
  const cpuSeconds = (perSecond.gateway * costs.verifyCpuMs + perSecond.refreshes * costs.refreshCpuMs + perSecond.logins * costs.loginCpuMs) / 1000;
  const durableObjectCalls = perSecond.refreshes + perSecond.logins * (code.throttleCallsPerLogin + code.userCallsPerLogin);
  const queueMessages = perSecond.refreshes * rowsPerRefresh + perSecond.logins * code.messagesPerLogin;

  const refreshesPerDay = (averageClients * DAY_SECONDS) / usage.refreshSeconds;
  const loginsPerDay = users * usage.loginsPerUserPerDay;
  const eventsPerDay = refreshesPerDay * (usage.refreshEvents ? 1 : 0) + loginsPerDay;
  const d1RowsPerDay = refreshesPerDay * rowsPerRefresh + loginsPerDay * code.messagesPerLogin;
  const d1Bytes = eventsPerDay * usage.retentionDays * costs.eventRowBytes + users * (usage.sessionsPerUser * costs.sessionRowBytes + costs.userRowBytes);
  const perDay = {
    d1Rows: d1RowsPerDay,
    d1Calls: d1RowsPerDay / code.consumerBatchRows,
    d1GrowthBytes: eventsPerDay * costs.eventRowBytes,
    queueMessages: d1RowsPerDay,
  };
  const load = {
    queue: queueMessages / limits.queueMessagesPerSecond,
    d1Storage: d1Bytes / limits.d1DatabaseBytes,
    d1Writes: queueMessages / code.consumerBatchRows / limits.d1BatchCallsPerSecond,
    objectRequests: limits.busiestObjectRequestsPerSecond / limits.objectRequestsPerSecond,
    cpuPerRequest: costs.loginCpuMs / limits.cpuMsPerInvocation,
  };
  return {
    users,
    perSecond: { ...perSecond, requests, cpuSeconds, durableObjectCalls, busiestObject: limits.busiestObjectRequestsPerSecond, queueMessages, d1Calls: queueMessages / code.consumerBatchRows },
    perDay,
    stored: { d1Bytes, objectBytes: users * costs.objectBytesPerUser },
    load,
    binds: bindingLimit(load),
    then: bindingLimit(Object.fromEntries(Object.entries(load).filter(([name]) => name !== bindingLimit(load).name))),
  };
}

/**
 * Queue messages (and so D1 rows) per refresh: its `refresh` event when per-rotation events are
 * on, and the session's record every `recordIntervalSeconds` (once per refresh when refreshes are
 * further apart than that).
 */
export function rowsPerRefreshOf(usage, code) {
  return (usage.refreshEvents ? 1 : 0) + Math.min(1, usage.refreshSeconds / code.recordIntervalSeconds);
}

/** What each entry of `load` measures against, for the table. */
export const LIMIT_NAMES = {
  queue: "queue messages per second per queue",
  d1Storage: "D1 database size",
  d1Writes: "D1 write calls per second",
  objectRequests: "requests per second per Durable Object",
  cpuPerRequest: "Workers CPU per invocation",
};

/** The limit with the highest load (demand over limit): the one that binds first as the deployment grows. */
export function bindingLimit(load) {
  const [name, share] = Object.entries(load).reduce((most, entry) => (entry[1] > most[1] ? entry : most));
  return { name, share, exceeded: share >= 1 };
}

/**
 * The users at which the limit `name` is reached: the queue, D1's size and D1's writes grow in
 * proportion to users, the busiest object and the CPU of one request do not grow at all.
 */
export function usersAtLimit(model, name) {
  if (name !== "queue" && name !== "d1Storage" && name !== "d1Writes") return Infinity;
  return model.users / model.load[name];
}

/** The markdown table of a model at several sizes: one column per size. */
export function capacityTable(models) {
  const header = `| | ${models.map((model) => `${formatCount(model.users)} users`).join(" | ")} |`;
  const rule = `| --- | ${models.map(() => "---:").join(" | ")} |`;
  const row = (label, cell) => `| ${label} | ${models.map(cell).join(" | ")} |`;
  const percent = (share) => (share < 1 ? `${formatNumber(share * 100)} %` : `${formatNumber(share)}× the limit`);
  return [
    header,
    rule,
    row("requests per second at the busiest hour (gateway + refresh + login)", (m) => formatNumber(m.perSecond.requests)),
    row("of which refreshes / logins", (m) => `${formatNumber(m.perSecond.refreshes)} / ${formatNumber(m.perSecond.logins)}`),
    row("Workers CPU, CPU-seconds per second", (m) => formatNumber(m.perSecond.cpuSeconds)),
    row("Durable Object calls per second, in all / to the busiest object", (m) => `${formatNumber(m.perSecond.durableObjectCalls)} / ${formatNumber(m.perSecond.busiestObject)}`),
    row("queue messages per second (= D1 rows)", (m) => formatNumber(m.perSecond.queueMessages)),
    row("D1 write calls per second (a queue batch each)", (m) => formatNumber(m.perSecond.d1Calls)),
    row("queue messages (= D1 rows) per day", (m) => formatNumber(m.perDay.queueMessages)),
    row("D1 calls per day", (m) => formatNumber(m.perDay.d1Calls)),
    row("D1 growth per day (audit events)", (m) => formatBytes(m.perDay.d1GrowthBytes)),
    row("D1 held (events over the retention, sessions, users)", (m) => formatBytes(m.stored.d1Bytes)),
    row("Durable Object storage (users' objects)", (m) => formatBytes(m.stored.objectBytes)),
    row("load: queue / D1 size / D1 writes", (m) => `${percent(m.load.queue)} / ${percent(m.load.d1Storage)} / ${percent(m.load.d1Writes)}`),
    row("binds first", (m) => `**${LIMIT_NAMES[m.binds.name]}** (${percent(m.binds.share)})`),
    row("then", (m) => `${LIMIT_NAMES[m.then.name]} (${percent(m.then.share)})`),
  ].join("\n");
}

/** A count as people read it: 10k, 1M, 100M. */
export function formatCount(value) {
  if (value >= 1e6) return `${formatNumber(value / 1e6)}M`;
  if (value >= 1e3) return `${formatNumber(value / 1e3)}k`;
  return formatNumber(value);
}

/** Two or three significant figures, thousands separated: 3.33, 33.3, 333, 3,333, 33,300. */
export function formatNumber(value) {
  if (value === 0) return "0";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Bytes in decimal units, as Cloudflare states its limits (10 GB = 10^10 bytes). */
export function formatBytes(bytes) {
  const units = [
    [1e12, "TB"],
    [1e9, "GB"],
    [1e6, "MB"],
    [1e3, "KB"],
  ];
  for (const [size, unit] of units) if (bytes >= size) return `${formatNumber(bytes / size)} ${unit}`;
  return `${formatNumber(bytes)} B`;
}

const START = "<!-- capacity-table:start (npm run bench:capacity writes this; do not edit by hand) -->";
const END = "<!-- capacity-table:end -->";

/** `doc` with the text between the capacity markers replaced by `table`; throws when the markers are missing. */
export function withCapacityTable(doc, table) {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`docs/scale.md needs the markers ${START} and ${END}`);
  return `${doc.slice(0, start + START.length)}\n${table}\n${doc.slice(end)}`;
}

export const CAPACITY_MARKERS = { START, END };
