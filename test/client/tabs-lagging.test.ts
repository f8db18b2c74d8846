import { describe, expect, it } from "vitest";
import { clientFor, loggedIn, origin, settle } from "./clients";
import { FakeGateway, FakeStorage } from "./fake-gateway";

describe("AuthClient: two tabs whose views of localStorage lag", () => {
  it("makes exactly one refresh request: the tab that waited for the lock waits for the other tab's message", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    const tabA = await loggedIn(gateway, { storage: "localStorage" }, shared);
    await settle();
    // A browser syncs localStorage between tabs' processes asynchronously: tab B's view does not
    // see tab A's rotation when tab B gets the lock, only the message that follows.
    const laggingView = new FakeStorage();
    for (const [key, value] of shared.localStorage.items) laggingView.setItem(key, value);
    const tabB = clientFor(gateway, { storage: "localStorage" }, { ...shared, localStorage: laggingView });
    gateway.now += 61_000;
    const responses = await Promise.all([tabA.fetch("/api/a"), tabB.fetch("/api/b")]);
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    expect(tabB.session).toEqual(tabA.session);
  });
});
