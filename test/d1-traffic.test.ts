import { describe, expect, it } from "vitest";
import { queueMessagesOfRefreshes } from "./helpers";

// What a refresh sends through the EVENTS queue; test/queue-batching/ counts the D1 calls the
// consumer makes of those messages (one per queue batch).
describe("queue messages of refreshes", () => {
  it("is one D1 row per refresh with per-rotation audit events on (the default): the event, no session record, no webhook", async () => {
    expect(await queueMessagesOfRefreshes(100)).toEqual({ event: 100, session: 0, webhook: 0 });
  });
});
