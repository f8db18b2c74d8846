import { describe, expect, it } from "vitest";
import { DPOP_FAILURE_EVENT_INTERVAL_MS, endedSessionsToDrop, proofRememberedUntil, tallyDpopFailure, type DpopFailureTally } from "../src/sessions/storage-bounds";

// Pure functions: every test passes `now` explicitly, no clock involved.
const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;

describe("endedSessionsToDrop", () => {
  const ended = (id: string, endedAt: number, createdAt = T0) => ({ id, endedAt, createdAt });

  it("drops nothing while at most the cap of ended sessions are kept", () => {
    expect(endedSessionsToDrop([], 5)).toEqual([]);
    expect(endedSessionsToDrop([ended("a", T0), ended("b", T0 + 1)], 2)).toEqual([]);
  });

  it("drops the oldest ended first, whatever order they come in", () => {
    const sessions = [ended("c", T0 + 3 * SECOND), ended("a", T0 + 1 * SECOND), ended("d", T0 + 4 * SECOND), ended("b", T0 + 2 * SECOND)];
    expect(endedSessionsToDrop(sessions, 2).sort()).toEqual(["a", "b"]);
    expect(endedSessionsToDrop(sessions, 1).sort()).toEqual(["a", "b", "c"]);
  });

  it("among sessions ended at the same moment (a logout-all), drops the older ones", () => {
    const sessions = [ended("new", T0, T0 + 2 * SECOND), ended("old", T0, T0), ended("mid", T0, T0 + SECOND)];
    expect(endedSessionsToDrop(sessions, 1).sort()).toEqual(["mid", "old"]);
  });

  it("keeps exactly the cap after a long loop of logins, one ended session each", () => {
    const sessions = Array.from({ length: 300 }, (_, index) => ended(`s${index}`, T0 + index * SECOND));
    const dropped = new Set(endedSessionsToDrop(sessions, 5));
    expect(dropped.size).toBe(295);
    expect(sessions.filter((session) => !dropped.has(session.id)).map((session) => session.id)).toEqual(["s295", "s296", "s297", "s298", "s299"]);
  });

  it("does not modify the list it is given", () => {
    const sessions = [ended("b", T0 + 1), ended("a", T0)];
    endedSessionsToDrop(sessions, 1);
    expect(sessions.map((session) => session.id)).toEqual(["b", "a"]);
  });
});

describe("tallyDpopFailure", () => {
  const none: DpopFailureTally = { lastEventAt: null, unrecorded: 0 };

  it("records the first failure of a session at once, with count 1", () => {
    expect(tallyDpopFailure(none, T0)).toEqual({ event: { count: 1 }, tally: { lastEventAt: T0, unrecorded: 0 } });
  });

  it("only counts failures within the minute after an event, up to its last millisecond", () => {
    const recorded = { lastEventAt: T0, unrecorded: 0 };
    expect(tallyDpopFailure(recorded, T0)).toEqual({ event: null, tally: { lastEventAt: T0, unrecorded: 1 } });
    expect(tallyDpopFailure({ lastEventAt: T0, unrecorded: 7 }, T0 + DPOP_FAILURE_EVENT_INTERVAL_MS - 1)).toEqual({
      event: null,
      tally: { lastEventAt: T0, unrecorded: 8 },
    });
  });

  it("records again from the moment the minute has passed, counting every failure since the last event", () => {
    expect(tallyDpopFailure({ lastEventAt: T0, unrecorded: 19 }, T0 + DPOP_FAILURE_EVENT_INTERVAL_MS)).toEqual({
      event: { count: 20 },
      tally: { lastEventAt: T0 + DPOP_FAILURE_EVENT_INTERVAL_MS, unrecorded: 0 },
    });
  });

  it("writes one event a minute however many failures come: 20 within a minute, then one more after it", () => {
    let tally = none;
    const events: number[] = [];
    for (let index = 0; index < 20; index += 1) {
      const next = tallyDpopFailure(tally, T0 + index * SECOND);
      if (next.event) events.push(next.event.count);
      tally = next.tally;
    }
    expect(events).toEqual([1]);
    const after = tallyDpopFailure(tally, T0 + 61 * SECOND);
    expect(after.event).toEqual({ count: 20 });
  });

  it("records at once when the clock went back past the last event, rather than staying silent", () => {
    expect(tallyDpopFailure({ lastEventAt: T0, unrecorded: 2 }, T0 - SECOND)).toEqual({ event: { count: 3 }, tally: { lastEventAt: T0 - SECOND, unrecorded: 0 } });
  });
});

describe("proofRememberedUntil", () => {
  it("remembers a proof for as long as its iat could still pass the window: CLOCK_SKEW_SECONDS plus 60 s", () => {
    expect(proofRememberedUntil({ iat: T0 / 1000 }, T0, 30)).toBe(T0 + 90 * SECOND);
    expect(proofRememberedUntil({ iat: T0 / 1000 }, T0, 0)).toBe(T0 + 60 * SECOND);
  });

  it("counts from iat when it is ahead of the clock, and from now when it is behind", () => {
    expect(proofRememberedUntil({ iat: T0 / 1000 + 20 }, T0, 30)).toBe(T0 + 110 * SECOND);
    expect(proofRememberedUntil({ iat: T0 / 1000 - 20 }, T0, 30)).toBe(T0 + 90 * SECOND);
  });
});
