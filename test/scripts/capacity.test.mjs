// The capacity model of docs/scale.md (bench/capacity-model.mjs, bench/capacity.mjs): its
// arithmetic on inputs small enough to check by hand, and the document holding what it computes.
import { describe, expect, it } from "vitest";
import { capacityAt, capacityTable, rowsPerRefreshOf, withCapacityTable, CAPACITY_MARKERS } from "../../bench/capacity-model.mjs";
import { costsFromCharts, interpolate, readCharts, writeCapacity } from "../../bench/capacity.mjs";

// 1,000 users, 100 of them active at the busiest hour and 50 on average, refreshing every 100 s,
// each asking the gateway once a second; 86.4 logins per user per day (1 a second on average).
const usage = {
  refreshSeconds: 100,
  peakActiveShare: 0.1,
  averageActiveShare: 0.05,
  sessionsPerUser: 2,
  loginsPerUserPerDay: 86.4,
  apiRequestsPerActiveSecond: 1,
  retentionDays: 10,
  refreshEvents: true,
};
const code = { recordIntervalSeconds: 400, messagesPerLogin: 2, throttleCallsPerLogin: 4, userCallsPerLogin: 1, consumerBatchRows: 100 };
const costs = { verifyCpuMs: 1, refreshCpuMs: 10, loginCpuMs: 100, eventRowBytes: 100, sessionRowBytes: 50, userRowBytes: 20, objectBytesPerUser: 1_000 };
const limits = { queueMessagesPerSecond: 10, d1DatabaseBytes: 1e9, d1BatchCallsPerSecond: 1, objectRequestsPerSecond: 1_000, busiestObjectRequestsPerSecond: 1, cpuMsPerInvocation: 30_000 };

describe("the capacity model", () => {
  const model = capacityAt(1_000, { usage, code, costs, limits });

  it("counts the busiest hour's requests: 100 clients' gateway requests, their refreshes, and twice the average logins", () => {
    expect(model.perSecond).toMatchObject({ gateway: 100, refreshes: 1, logins: 2, requests: 103 });
    // 100 verifications of 1 ms, 1 refresh of 10 ms, 2 logins of 100 ms.
    expect(model.perSecond.cpuSeconds).toBeCloseTo(0.31, 10);
    // A refresh is one call to the user's object; a login four to the login limits and one to the user's.
    expect(model.perSecond.durableObjectCalls).toBe(11);
  });

  it("sends a refresh's event and its share of session records to the queue, and two messages a login", () => {
    expect(rowsPerRefreshOf(usage, code)).toBe(1.25);
    expect(rowsPerRefreshOf({ ...usage, refreshEvents: false }, code)).toBe(0.25);
    // Refreshes further apart than the record interval rewrite the record every time.
    expect(rowsPerRefreshOf({ ...usage, refreshSeconds: 1_000 }, code)).toBe(2);
    expect(model.perSecond.queueMessages).toBe(5.25);
    expect(model.perSecond.d1Calls).toBeCloseTo(0.0525, 10);
  });

  it("counts a day's rows and what D1 holds over the retention", () => {
    // 50 clients × 864 refreshes, 86,400 logins.
    expect(model.perDay.d1Rows).toBe(43_200 * 1.25 + 86_400 * 2);
    expect(model.perDay.d1Calls).toBe(model.perDay.d1Rows / 100);
    expect(model.perDay.d1GrowthBytes).toBe((43_200 + 86_400) * 100);
    // Events for 10 days, and every user's 2 sessions and own row.
    expect(model.stored.d1Bytes).toBe(129_600 * 10 * 100 + 1_000 * (2 * 50 + 20));
    expect(model.stored.objectBytes).toBe(1_000_000);
  });

  it("names the limit with the highest load as the one that binds first, and the next", () => {
    expect(model.load.queue).toBeCloseTo(0.525, 10);
    expect(model.load.d1Storage).toBeCloseTo(0.12972, 10);
    expect(model.binds).toEqual({ name: "queue", share: model.load.queue, exceeded: false });
    expect(model.then.name).toBe("d1Storage");
    const bigger = capacityAt(10_000, { usage, code, costs, limits });
    expect(bigger.binds).toMatchObject({ name: "queue", exceeded: true });
    expect(bigger.load.queue).toBeCloseTo(10 * model.load.queue, 10);
  });

  it("draws one column per size", () => {
    const table = capacityTable([model, capacityAt(10_000, { usage, code, costs, limits })]);
    expect(table.split("\n")[0]).toBe("| | 1k users | 10k users |");
    expect(table).toContain("| binds first | **queue messages per second per queue** (52.5 %) | **queue messages per second per queue** (5.25× the limit) |");
  });
});

describe("its inputs and its place in docs/scale.md", () => {
  it("reads a curve between its points and holds it flat past its ends", () => {
    const points = [[10, 100], [1, 44], [20, 200]];
    expect(interpolate(points, 0)).toBe(44);
    expect(interpolate(points, 15)).toBe(150);
    expect(interpolate(points, 50)).toBe(200);
  });

  it("takes the verification of the smallest token and a user's object at its sessions from the charts", () => {
    const charts = {
      "verify-vs-token-size": { series: [{ name: "this gateway", points: [[900, 300], [500, 120]] }] },
      "storage-per-user": { series: [{ name: "user's object", points: [[1, 40], [3, 60]] }] },
    };
    const read = costsFromCharts(charts, { ...usage, sessionsPerUser: 2 }, {});
    expect(read.verifyCpuMs).toBe(0.12);
    expect(read.objectBytesPerUser).toBe(50 * 1024);
  });

  it("replaces only what is between the markers, and refuses a document without them", () => {
    const doc = `before\n${CAPACITY_MARKERS.START}\nold\n${CAPACITY_MARKERS.END}\nafter\n`;
    expect(withCapacityTable(doc, "new")).toBe(`before\n${CAPACITY_MARKERS.START}\nnew\n${CAPACITY_MARKERS.END}\nafter\n`);
    expect(() => withCapacityTable("no markers", "new")).toThrow(/markers/);
  });

  it("is what docs/scale.md holds, computed from docs/charts/ (npm run bench:capacity rewrites it)", () => {
    expect(readCharts()["storage-per-user"].series.length).toBeGreaterThan(0);
    expect(writeCapacity({ check: true }).changed).toBe(false);
  });
});
