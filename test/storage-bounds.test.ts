import { describe, expect, it } from "vitest";
import { DPOP_FAILURE_EVENT_INTERVAL_MS, tallyDpopFailure, type DpopFailureTally } from "../src/sessions/storage-bounds";

// Pure functions: every test passes `now` explicitly, no clock involved.
const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;

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
