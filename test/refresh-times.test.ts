import { describe, expect, it } from "vitest";
import { ISSUE_TIMES_KEPT, expiredReason, rotatedAt, sessionExpiry, withIssueTime } from "../src/sessions/refresh-rules";
import { sessionSettings as policy } from "./session-settings";

// The time arithmetic of the refresh rules: when a session runs past its limits, and how its
// kept issue times date a rotation. Pure, `now` passed in.
const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const DAY = 86_400 * SECOND;

describe("sessionExpiry", () => {
  it("ends an idle session REFRESH_IDLE_TTL_SECONDS after its last use", () => {
    const lastUsedAt = T0 + 30 * DAY;
    expect(sessionExpiry({ createdAt: T0, lastUsedAt }, policy())).toEqual({ at: lastUsedAt + 14 * DAY, reason: "idle_timeout" });
  });

  it("ends a session in use SESSION_MAX_TTL_SECONDS after it was created, however recently it was used", () => {
    const lastUsedAt = T0 + 85 * DAY;
    expect(sessionExpiry({ createdAt: T0, lastUsedAt }, policy())).toEqual({ at: T0 + 90 * DAY, reason: "max_lifetime" });
  });

  it("applies only the idle limit when SESSION_MAX_TTL_SECONDS is 0", () => {
    const lastUsedAt = T0 + 1000 * DAY;
    expect(sessionExpiry({ createdAt: T0, lastUsedAt }, policy({ sessionMaxTtlSeconds: 0 }))).toEqual({
      at: lastUsedAt + 14 * DAY,
      reason: "idle_timeout",
    });
  });

  it("applies only the absolute limit when REFRESH_IDLE_TTL_SECONDS is 0", () => {
    expect(sessionExpiry({ createdAt: T0, lastUsedAt: T0 }, policy({ refreshIdleTtlSeconds: 0 }))).toEqual({
      at: T0 + 90 * DAY,
      reason: "max_lifetime",
    });
  });

  it("has no expiry at all when both limits are 0", () => {
    expect(sessionExpiry({ createdAt: T0, lastUsedAt: T0 }, policy({ refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 }))).toBeNull();
  });
});

describe("expiredReason", () => {
  const session = { createdAt: T0, lastUsedAt: T0 + 10 * DAY };
  const idleEnd = T0 + 24 * DAY;

  it("lets a session be refreshed up to the last millisecond before its idle limit", () => {
    expect(expiredReason(session, policy(), idleEnd - 1)).toBeNull();
  });

  it("reports idle_timeout from the moment the idle limit is reached", () => {
    expect(expiredReason(session, policy(), idleEnd)).toBe("idle_timeout");
    expect(expiredReason(session, policy(), idleEnd + 1)).toBe("idle_timeout");
  });

  it("reports max_lifetime once the session is older than SESSION_MAX_TTL_SECONDS", () => {
    const busy = { createdAt: T0, lastUsedAt: T0 + 89 * DAY };
    expect(expiredReason(busy, policy(), T0 + 90 * DAY - 1)).toBeNull();
    expect(expiredReason(busy, policy(), T0 + 90 * DAY)).toBe("max_lifetime");
  });

  it("never expires a session when both limits are 0, even a century later", () => {
    const none = policy({ refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 });
    expect(expiredReason({ createdAt: T0, lastUsedAt: T0 }, none, T0 + 36_500 * DAY)).toBeNull();
  });

  it("ignores idleness when REFRESH_IDLE_TTL_SECONDS is 0 and age when SESSION_MAX_TTL_SECONDS is 0", () => {
    const old = { createdAt: T0, lastUsedAt: T0 };
    expect(expiredReason(old, policy({ refreshIdleTtlSeconds: 0 }), T0 + 60 * DAY)).toBeNull();
    expect(expiredReason(old, policy({ refreshIdleTtlSeconds: 0 }), T0 + 90 * DAY)).toBe("max_lifetime");
    expect(expiredReason({ createdAt: T0, lastUsedAt: T0 + 400 * DAY }, policy({ sessionMaxTtlSeconds: 0 }), T0 + 410 * DAY)).toBeNull();
    expect(expiredReason({ createdAt: T0, lastUsedAt: T0 + 400 * DAY }, policy({ sessionMaxTtlSeconds: 0 }), T0 + 414 * DAY)).toBe("idle_timeout");
  });
});

describe("rotatedAt", () => {
  // Generations 0..3 issued at T0, T0+1s, T0+2s, T0+3s; generation 3 is current.
  const times = [T0, T0 + 1 * SECOND, T0 + 2 * SECOND, T0 + 3 * SECOND];

  it("dates each used token's rotation by the issue time of its successor", () => {
    expect(rotatedAt(times, 3, 2)).toBe(T0 + 3 * SECOND);
    expect(rotatedAt(times, 3, 1)).toBe(T0 + 2 * SECOND);
    expect(rotatedAt(times, 3, 0)).toBe(T0 + 1 * SECOND);
  });

  it("returns null for a rotation older than the kept window", () => {
    // Generation 100 is current; only generations 37..100 have issue times left.
    const kept = Array.from({ length: ISSUE_TIMES_KEPT }, (_, index) => T0 + (37 + index) * SECOND);
    expect(rotatedAt(kept, 100, 99)).toBe(T0 + 100 * SECOND);
    expect(rotatedAt(kept, 100, 36)).toBe(T0 + 37 * SECOND);
    expect(rotatedAt(kept, 100, 35)).toBeNull();
    expect(rotatedAt(kept, 100, 0)).toBeNull();
  });
});

describe("withIssueTime", () => {
  it("appends the new generation's issue time last", () => {
    expect(withIssueTime([T0], T0 + SECOND)).toEqual([T0, T0 + SECOND]);
  });

  it("keeps at most ISSUE_TIMES_KEPT entries, dropping the oldest, however many rotations happen", () => {
    let times = [T0];
    for (let generation = 1; generation <= 1000; generation += 1) times = withIssueTime(times, T0 + generation * SECOND);
    expect(times).toHaveLength(ISSUE_TIMES_KEPT);
    expect(times.at(-1)).toBe(T0 + 1000 * SECOND);
    expect(times[0]).toBe(T0 + (1000 - ISSUE_TIMES_KEPT + 1) * SECOND);
    // Still dates the last kept rotations correctly after truncation.
    expect(rotatedAt(times, 1000, 999)).toBe(T0 + 1000 * SECOND);
    expect(rotatedAt(times, 1000, 1000 - ISSUE_TIMES_KEPT)).toBe(T0 + (1000 - ISSUE_TIMES_KEPT + 1) * SECOND);
    expect(rotatedAt(times, 1000, 1000 - ISSUE_TIMES_KEPT - 1)).toBeNull();
  });

  it("does not modify the list it is given", () => {
    const times = [T0];
    withIssueTime(times, T0 + SECOND);
    expect(times).toEqual([T0]);
  });
});
