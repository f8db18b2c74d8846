import { describe, expect, it } from "vitest";
import { d1StatementsOfRefreshes } from "./helpers";

describe("D1 traffic of refreshes", () => {
  it("is one statement per refresh with per-rotation audit events on (the default): the event, no session record", async () => {
    expect(await d1StatementsOfRefreshes(100)).toBe(100);
  });
});
