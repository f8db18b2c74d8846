import { describe, expect, it } from "vitest";
import {
  RECORD_INTERVAL_MS,
  expiredSessions,
  isActive,
  listedSessions,
  newSession,
  nextWakeUp,
  purgeCutoff,
  purgeDueAt,
  recordDue,
  rotated,
  sessionRecord,
  sessionsToEvict,
} from "../src/sessions/lifecycle";
import { ISSUE_TIMES_KEPT } from "../src/sessions/refresh-rules";
import type { SessionOpening } from "../src/sessions/rpc";
import type { Session } from "../src/sessions/session-store";
import { sessionSettings } from "./session-settings";

// Pure functions: every test passes `now` explicitly, no clock involved.
const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;

const SETTINGS = sessionSettings();

const OPENING: SessionOpening = {
  sub: "user-1",
  claims: { role: "editor" },
  amr: ["pwd"],
  authTime: T0 - 2 * SECOND,
  event: { type: "login", detail: { method: "password" } },
};

const CLIENT = { ip: "203.0.113.7", userAgent: "Laptop/1.0" };

function session(id: string, overrides: Partial<Session> = {}): Session {
  return { ...newSession(OPENING, { id, client: CLIENT, proof: null }, T0), ...overrides };
}

describe("newSession", () => {
  it("starts at generation 0, issued, used and recorded now, with the opening's claims and how the user signed in", () => {
    expect(newSession(OPENING, { id: "s1", client: CLIENT, proof: null }, T0)).toEqual({
      id: "s1",
      sub: "user-1",
      generation: 0,
      issueTimes: [T0],
      createdAt: T0,
      lastUsedAt: T0,
      revokedAt: null,
      revokedReason: null,
      recordedAt: T0,
      jkt: null,
      dpopFailures: { lastEventAt: null, unrecorded: 0 },
      claims: { role: "editor" },
      amr: ["pwd"],
      authTime: T0 - 2 * SECOND,
      userAgent: "Laptop/1.0",
      ip: "203.0.113.7",
    });
  });

  it("binds the session to the opening request's DPoP key", () => {
    const proof = { jkt: "thumbprint", jti: "j1", iat: T0 / 1000 };
    expect(newSession(OPENING, { id: "s1", client: CLIENT, proof }, T0).jkt).toBe("thumbprint");
  });
});

describe("rotated", () => {
  it("moves to the next generation, issued and used now, and keeps how and when the user signed in", () => {
    const next = rotated(session("s1"), { ip: "198.51.100.1", userAgent: "Phone/2.0" }, T0 + HOUR);
    expect(next).toMatchObject({ generation: 1, issueTimes: [T0, T0 + HOUR], lastUsedAt: T0 + HOUR, createdAt: T0 });
    expect(next).toMatchObject({ ip: "198.51.100.1", userAgent: "Phone/2.0", amr: ["pwd"], authTime: T0 - 2 * SECOND, claims: { role: "editor" } });
  });

  it("keeps the previous client when the refresh names none", () => {
    expect(rotated(session("s1"), { ip: null, userAgent: null }, T0 + HOUR)).toMatchObject({ ip: "203.0.113.7", userAgent: "Laptop/1.0" });
  });

  it("keeps at most ISSUE_TIMES_KEPT issue times", () => {
    let current = session("s1");
    for (let index = 1; index <= ISSUE_TIMES_KEPT + 10; index += 1) current = rotated(current, CLIENT, T0 + index * SECOND);
    expect(current.issueTimes).toHaveLength(ISSUE_TIMES_KEPT);
    expect(current.issueTimes.at(-1)).toBe(T0 + (ISSUE_TIMES_KEPT + 10) * SECOND);
  });
});

describe("recordDue", () => {
  it("re-records a rotating session once its D1 record is an hour old, not before", () => {
    expect(recordDue({ recordedAt: T0 }, T0 + RECORD_INTERVAL_MS - 1)).toBe(false);
    expect(recordDue({ recordedAt: T0 }, T0 + RECORD_INTERVAL_MS)).toBe(true);
    // A session migrated from before records were timed counts as never recorded.
    expect(recordDue({ recordedAt: 0 }, T0)).toBe(true);
  });
});

describe("isActive and expiredSessions", () => {
  it("is active until its idle limit, and not once revoked", () => {
    const idleLimit = T0 + 14 * DAY;
    expect(isActive(session("s1"), SETTINGS, idleLimit - 1)).toBe(true);
    expect(isActive(session("s1"), SETTINGS, idleLimit)).toBe(false);
    expect(isActive(session("s1", { revokedAt: T0 + SECOND }), SETTINGS, T0 + 2 * SECOND)).toBe(false);
  });

  it("names each session past a limit with the limit it ran past, and only those", () => {
    const idle = session("idle", { lastUsedAt: T0 - 15 * DAY, createdAt: T0 - 15 * DAY });
    const old = session("old", { createdAt: T0 - 91 * DAY, lastUsedAt: T0 - HOUR });
    const fresh = session("fresh");
    expect(expiredSessions([idle, fresh, old], SETTINGS, T0)).toEqual([
      { session: idle, reason: "idle_timeout" },
      { session: old, reason: "max_lifetime" },
    ]);
    expect(expiredSessions([idle, old], { ...SETTINGS, refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 }, T0)).toEqual([]);
  });
});

describe("sessionsToEvict", () => {
  const used = (id: string, lastUsedAt: number, createdAt = T0) => session(id, { lastUsedAt, createdAt });

  it("revokes nothing while the user holds at most the cap", () => {
    expect(sessionsToEvict([used("a", T0), used("b", T0 + 1)], 2)).toEqual([]);
    expect(sessionsToEvict([], 1)).toEqual([]);
  });

  it("revokes the least recently used first, whatever order they come in", () => {
    const sessions = [used("c", T0 + 3 * SECOND), used("a", T0 + SECOND), used("new", T0 + 9 * SECOND), used("b", T0 + 2 * SECOND)];
    expect(sessionsToEvict(sessions, 3).map((entry) => entry.id)).toEqual(["a"]);
    expect(sessionsToEvict(sessions, 1).map((entry) => entry.id)).toEqual(["a", "b", "c"]);
  });

  it("among sessions last used at the same moment, revokes the older one", () => {
    const sessions = [used("newer", T0, T0 + SECOND), used("older", T0, T0 - SECOND)];
    expect(sessionsToEvict(sessions, 1).map((entry) => entry.id)).toEqual(["older"]);
  });

  it("does not modify the list it is given", () => {
    const sessions = [used("b", T0 + 1), used("a", T0)];
    sessionsToEvict(sessions, 1);
    expect(sessions.map((entry) => entry.id)).toEqual(["b", "a"]);
  });
});

describe("listedSessions", () => {
  it("lists the active sessions newest first, with their expiry and how and when the user signed in", () => {
    const older = session("older", { createdAt: T0 - HOUR, lastUsedAt: T0 - HOUR });
    const newer = session("newer", { amr: ["adm"], authTime: T0 });
    const revoked = session("revoked", { revokedAt: T0 });
    const idle = session("idle", { createdAt: T0 - 20 * DAY, lastUsedAt: T0 - 15 * DAY });
    expect(listedSessions([older, revoked, idle, newer], SETTINGS, T0 + SECOND)).toEqual([
      { id: "newer", createdAt: T0, lastUsedAt: T0, expiresAt: T0 + 14 * DAY, userAgent: "Laptop/1.0", ip: "203.0.113.7", amr: ["adm"], authTime: T0 },
      {
        id: "older",
        createdAt: T0 - HOUR,
        lastUsedAt: T0 - HOUR,
        expiresAt: T0 - HOUR + 14 * DAY,
        userAgent: "Laptop/1.0",
        ip: "203.0.113.7",
        amr: ["pwd"],
        authTime: T0 - 2 * SECOND,
      },
    ]);
  });

  it("lists a session from before amr was stored with amr null", () => {
    expect(listedSessions([session("legacy", { amr: null })], SETTINGS, T0)[0]).toMatchObject({ amr: null, authTime: T0 - 2 * SECOND });
  });
});

describe("nextWakeUp", () => {
  it("is the earliest of the active sessions' expiries and the ended sessions' purges", () => {
    const active = session("active", { lastUsedAt: T0 });
    const ended = session("ended", { revokedAt: T0 - 6 * DAY });
    // Ended 6 days ago, purged after 7: one day from now, before the active one's 14-day idle limit.
    expect(nextWakeUp([active, ended], SETTINGS)).toBe(T0 + DAY);
    expect(nextWakeUp([active], SETTINGS)).toBe(T0 + 14 * DAY);
  });

  it("takes whichever limit of an active session comes first", () => {
    const nearlyOld = session("s", { createdAt: T0 - 89 * DAY, lastUsedAt: T0 });
    expect(nextWakeUp([nearlyOld], SETTINGS)).toBe(T0 + DAY);
  });

  it("is null with no sessions, or only sessions without limits", () => {
    expect(nextWakeUp([], SETTINGS)).toBeNull();
    expect(nextWakeUp([session("s")], { ...SETTINGS, refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 })).toBeNull();
  });

  it("still wakes up to purge an ended session when sessions have no limits", () => {
    const unlimited = { ...SETTINGS, refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 };
    expect(nextWakeUp([session("s"), session("ended", { revokedAt: T0 })], unlimited)).toBe(T0 + 7 * DAY);
  });
});

describe("purgeDueAt and purgeCutoff", () => {
  it("purges a session SESSION_RETENTION_SECONDS after it ended, and not a millisecond before", () => {
    expect(purgeDueAt(T0, SETTINGS)).toBe(T0 + 7 * DAY);
    expect(purgeCutoff(SETTINGS, T0 + 7 * DAY)).toBe(T0);
    expect(purgeCutoff(SETTINGS, T0 + 7 * DAY - 1)).toBeLessThan(T0);
  });
});

describe("sessionRecord", () => {
  it("is the D1 row of the session: its times, expiry, end, client and rotation count, never its key, claims or amr", () => {
    const ended = { ...rotated(rotated(session("s1"), CLIENT, T0 + SECOND), CLIENT, T0 + 2 * SECOND), revokedAt: T0 + HOUR, revokedReason: "logout" as const };
    expect(sessionRecord(ended, SETTINGS)).toEqual({
      id: "s1",
      user_id: "user-1",
      created_at: T0,
      last_used_at: T0 + 2 * SECOND,
      expires_at: T0 + 2 * SECOND + 14 * DAY,
      revoked_at: T0 + HOUR,
      revoked_reason: "logout",
      user_agent: "Laptop/1.0",
      ip: "203.0.113.7",
      rotation_count: 2,
    });
  });

  it("has no expiry when the session has no limits", () => {
    expect(sessionRecord(session("s1"), { ...SETTINGS, refreshIdleTtlSeconds: 0, sessionMaxTtlSeconds: 0 }).expires_at).toBeNull();
  });
});
