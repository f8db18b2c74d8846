// The cost curves of `npm run bench` whose work only grows, measured point after point against
// one running bench worker (bench/curves.mjs has the others): the audit events stored in D1, and
// the generations one session rotated through.
import { REQUEST_TIMEOUT_MS } from "./http.mjs";
import { combine, measure } from "./load.mjs";

/**
 * The growth curves against the bench worker at `base`, through `client` (bench/http.mjs);
 * `refreshChain(chains, index)` refreshes one chain of tokens; `settings` as in curvesFor.
 */
export function growthCurvesFor({ base, run, client, settings, log, refreshChain }) {
  const { admin, get, post, json, openSession } = client;
  const { CURVE_REQUESTS, CURVE_SECONDS } = settings;
  return { auditRows, rotations };

  /**
   * Against the audit events stored in D1, seeded in bulk up to AUDIT_ROWS: refresh latency (a
   * refresh never reads D1; its event is written after the answer), the admin events listing
   * (`GET /auth/admin/events`, newest 100, and one user's), and the daily purge (the cron
   * handler, deleting the 1,000 events seeded past retention for each point).
   */
  async function auditRows() {
    const most = settings.AUDIT_ROWS;
    const targets = [...new Set([Math.min(1_000, most), most / 100, most / 10, (most * 3) / 10, most].map(Math.round))].filter((rows) => rows >= 1_000).sort((a, b) => a - b);
    log(`curve: refresh, admin listing and purge against audit rows in D1 (${targets.join(", ")})`);
    const chain = [(await openSession(`bench-curve-audit-${run}`)).refresh_token];
    const points = [];
    let stored = (await json(await post(`${base}/bench/audit-rows`, { count: 0, due: 0 }, REQUEST_TIMEOUT_MS, admin()))).events;
    let seedingSeconds = 0;
    for (const target of targets) {
      // 1,000 events past retention for the purge to delete, the rest recent.
      const started = performance.now();
      let missing = Math.max(1_000, target - stored);
      let due = 1_000;
      while (missing > 0) {
        const count = Math.min(missing, 250_000);
        const seeded = await json(await post(`${base}/bench/audit-rows`, { count, due: Math.min(due, count) }, 300_000, admin()));
        stored = seeded.events;
        missing -= count;
        due = Math.max(0, due - count);
      }
      seedingSeconds += (performance.now() - started) / 1000;
      // A third of the point's time to refreshes, a third to each listing; one purge.
      const seconds = CURVE_SECONDS / targets.length / 3;
      const requests = Math.max(5, Math.round(CURVE_REQUESTS / 2));
      const refresh = combine([await measure(() => refreshChain(chain, 0), { concurrency: 1, limit: requests, seconds })]);
      const newest = combine([await measure(() => get(`${base}/auth/admin/events?limit=100`, admin()), { concurrency: 1, limit: Math.max(3, Math.round(requests / 4)), seconds: seconds / 2 })]);
      const oneUser = combine([await measure(() => get(`${base}/auth/admin/events?sub=bench-audit-7&limit=100`, admin()), { concurrency: 1, limit: 5, seconds: seconds / 2 })]);
      const purge = combine([await measure(() => post(`${base}/bench/housekeeping`, {}, 300_000, admin()), { concurrency: 1, limit: 1, seconds: 300 })]);
      points.push({ rows: stored, refresh, newest, oneUser, purge });
      stored -= 1_000;
    }
    const at = (field, stat) => points.map((point) => [point.rows, point[field][stat]]);
    return {
      seedingSeconds,
      charts: [
        {
          id: "refresh-vs-audit-rows",
          title: "Refresh latency against the audit events stored in D1",
          subtitle: "one client, back to back; each refresh adds an event to D1 after its answer",
          x: { label: "audit events in D1", unit: "rows", scale: "log" },
          y: { label: "refresh latency", unit: "ms" },
          series: [{ name: "p50", points: at("refresh", "p50") }, { name: "p99", points: at("refresh", "p99") }],
        },
        {
          id: "admin-events-vs-audit-rows",
          title: "Admin events listing and daily purge against the audit events in D1",
          subtitle: "GET /auth/admin/events?limit=100 (p50); the cron purge deleting 1,000 expired events",
          x: { label: "audit events in D1", unit: "rows", scale: "log" },
          y: { label: "time", unit: "ms" },
          series: [
            { name: "newest 100", points: at("newest", "p50") },
            { name: "one user's 100 (sub=)", points: at("oneUser", "p50") },
            { name: "daily purge", points: at("purge", "p50") },
          ],
        },
      ],
    };
  }

  /** The storage of a user's object holding one session, against the generations the session rotated (it must stay flat). */
  async function rotations() {
    const most = settings.ROTATIONS;
    const targets = [...new Set([0, 1, 10, most / 10, most / 4, most / 2, most].map(Math.round))].sort((a, b) => a - b);
    log(`curve: storage against generations rotated (${targets.join(", ")})`);
    const sub = `bench-curve-rotations-${run}`;
    const chain = [(await openSession(sub)).refresh_token];
    let rotated = 0;
    const points = [];
    // Twice a curve's time: its one client refreshes one after another, up to ROTATIONS.
    const deadline = performance.now() + 2 * CURVE_SECONDS * 1000;
    for (const target of targets) {
      const seconds = (deadline - performance.now()) / 1000;
      if (seconds <= 0) break;
      const sample = await measure(() => refreshChain(chain, 0), { concurrency: 1, limit: target - rotated, seconds });
      if (sample.errors > 0) throw new Error(`rotation curve: ${sample.errors} refreshes failed, e.g. ${sample.firstError}`);
      // The time bound may stop short of the target: the point is where it got.
      rotated += sample.latencies.length;
      points.push([rotated, (await json(await get(`${base}/bench/object-bytes?user=${sub}`, admin()))).bytes / 1024]);
    }
    return [
      {
        id: "storage-vs-rotations",
        title: "Storage of a one-session user against the generations it rotated",
        subtitle: "UserAuth's SQLite database (ctx.storage.sql.databaseSize) after each point's refreshes",
        x: { label: "generations rotated", unit: "refreshes", scale: "linear" },
        y: { label: "storage of the user's object", unit: "KB" },
        series: [{ name: "one session", points }],
      },
    ];
  }
}
