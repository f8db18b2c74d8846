import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthClientError } from "../../src/client";
import { clientFor, GATEWAY, loggedIn, origin, settle } from "./clients";
import { FakeGateway, FakeStorage } from "./fake-gateway";

describe("AuthClient: the access token", () => {
  it("attaches the access token to API calls on the gateway's origin, paths and URLs alike", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    const response = await client.fetch("/api/orders?limit=2");
    expect(response.status).toBe(200);
    expect(await client.fetch(new URL("/api/me", GATEWAY))).toHaveProperty("status", 200);
    const [first] = gateway.calls("/api/orders");
    expect(first!.authorization).toMatch(/^Bearer at\./);
  });

  it("never sends the access token to another origin", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await expect(client.fetch("https://evil.example/steal")).rejects.toThrow(TypeError);
    expect(gateway.sent.filter((entry) => entry.path === "/steal")).toEqual([]);
  });

  it("rejects with logged_out, sending nothing, when there is no session", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway);
    await expect(client.fetch("/api/x")).rejects.toMatchObject({ code: "logged_out" });
    expect(gateway.sent).toEqual([]);
  });

  it("refreshes shortly before exp when a request is about to be sent, and not before", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway, { refreshBeforeExpirySeconds: 10 });
    gateway.now += 49_000;
    await client.fetch("/api/x");
    expect(gateway.calls("/auth/refresh")).toHaveLength(0);
    gateway.now += 2_000; // 9 s left
    await client.fetch("/api/x");
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    expect(gateway.calls("/api/x").every((entry) => entry.authorization !== null)).toBe(true);
  });

  it("caps the lead time at half the token's lifetime, so short tokens are not refreshed on every call", async () => {
    const gateway = new FakeGateway();
    gateway.ttlSeconds = 5;
    const client = await loggedIn(gateway); // refreshBeforeExpirySeconds 30 > 5
    gateway.now += 2_000;
    await client.fetch("/api/x");
    expect(gateway.calls("/auth/refresh")).toHaveLength(0);
    gateway.now += 1_000;
    await client.fetch("/api/x");
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
  });

  it("runs no timer while idle", async () => {
    vi.useFakeTimers();
    try {
      const gateway = new FakeGateway();
      await loggedIn(gateway);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("AuthClient: single flight", () => {
  it("makes exactly one refresh call for 100 parallel requests with an expired token", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    gateway.now += 61_000;
    const responses = await Promise.all(Array.from({ length: 100 }, (_, index) => client.fetch(`/api/item/${index}`)));
    expect(responses.map((response) => response.status)).toEqual(Array(100).fill(200));
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    const tokens = new Set(gateway.sent.filter((entry) => entry.path.startsWith("/api/")).map((entry) => entry.authorization));
    expect(tokens.size).toBe(1);
  });

  it("calls onLoggedOut once when the one refresh of 100 parallel requests is refused, and all of them reject", async () => {
    const gateway = new FakeGateway();
    const onLoggedOut = vi.fn();
    const client = await loggedIn(gateway, { onLoggedOut });
    gateway.revokeAll();
    gateway.now += 61_000;
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => client.fetch("/api/x")));
    expect(results.every((result) => result.status === "rejected" && (result.reason as AuthClientError).code === "logged_out")).toBe(true);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    expect(onLoggedOut).toHaveBeenCalledTimes(1);
    expect(onLoggedOut).toHaveBeenCalledWith("refresh_refused");
    expect(client.session).toBeNull();
    // Logged out stays logged out, without asking the gateway again.
    await expect(client.fetch("/api/x")).rejects.toMatchObject({ code: "logged_out" });
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    expect(onLoggedOut).toHaveBeenCalledTimes(1);
  });

  it("starts a new refresh once the last one is done", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await Promise.all([client.refresh(), client.refresh(), client.refresh()]);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    await client.refresh();
    expect(gateway.calls("/auth/refresh")).toHaveLength(2);
    expect([...gateway.sessions.values()][0]!.generation).toBe(2);
  });
});

describe("AuthClient: a 401 that says expired", () => {
  it("refreshes and retries the request once, body included", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway, { refreshBeforeExpirySeconds: 5 });
    // 29 s left by the client's reckoning, expired by the gateway's (a client clock that is behind).
    gateway.earlyExpiryMs = 30_000;
    gateway.now += 31_000;
    const response = await client.fetch("/api/orders", { method: "POST", body: JSON.stringify({ item: 7 }), headers: { "Content-Type": "application/json" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ method: "POST", body: '{"item":7}' });
    const calls = gateway.calls("/api/orders");
    expect(calls).toHaveLength(1 + 1);
    expect(calls[0]!.authorization).not.toBe(calls[1]!.authorization);
    expect(calls[1]!.headers.get("Content-Type")).toBe("application/json");
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
  });

  it("retries only once, and hands the second 401 to the caller", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    gateway.earlyExpiryMs = 120_000; // every token is expired at the gateway
    const response = await client.fetch("/api/x");
    expect(response.status).toBe(401);
    expect(gateway.calls("/api/x")).toHaveLength(2);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
  });

  it("does not refresh on a 401 that is not about expiry", async () => {
    const gateway = new FakeGateway();
    // Something between the client and the gateway spoils the token: the gateway answers "invalid".
    const spoiling = async (request: Request) => {
      if (request.url.includes("/api/")) request.headers.set("Authorization", "Bearer forged");
      return gateway.fetch(request);
    };
    const client = await loggedIn(gateway, { fetch: spoiling });
    const response = await client.fetch("/api/x");
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain("is invalid");
    expect(gateway.calls("/api/x")).toHaveLength(1);
    expect(gateway.calls("/auth/refresh")).toHaveLength(0);
  });

  it("shares one refresh between the 401 retries of parallel requests", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    gateway.earlyExpiryMs = 60_000;
    const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch("/api/x")));
    // The first batch all got 401 with the same token; the first refresh's token is then expired
    // at the gateway too, so the retries get 401 again: one refresh, not twenty.
    expect(responses.every((response) => response.status === 401)).toBe(true);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
  });
});

describe("AuthClient: flaky networks", () => {
  it("retries a refresh whose answer was lost with the same refresh token, gets the same successor and stays logged in", async () => {
    const gateway = new FakeGateway();
    const onLoggedOut = vi.fn();
    const client = await loggedIn(gateway, { onLoggedOut });
    const session = [...gateway.sessions.values()][0]!;
    const first = gateway.refreshTokenOf(session.id);
    gateway.loseRefreshAnswers = 1;
    gateway.now += 61_000;
    expect((await client.fetch("/api/x")).status).toBe(200);
    const refreshes = gateway.calls("/auth/refresh");
    expect(refreshes.map((entry) => JSON.parse(entry.body).refresh_token)).toEqual([first, first]);
    // Rotated once: the retry was answered by the grace rule with the same successor.
    expect(session.generation).toBe(1);
    expect(session.revoked).toBe(false);
    // The successor is what the client holds now: the next refresh rotates normally.
    gateway.now += 61_000;
    expect((await client.fetch("/api/x")).status).toBe(200);
    expect(JSON.parse(gateway.calls("/auth/refresh")[2]!.body).refresh_token).toBe(`rt.${session.id}.1`);
    expect(session.generation).toBe(2);
    expect(onLoggedOut).not.toHaveBeenCalled();
  });

  it("retries a refresh answered 5xx", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    gateway.unavailableRefreshes = 2;
    gateway.now += 61_000;
    expect((await client.fetch("/api/x")).status).toBe(200);
    expect(gateway.calls("/auth/refresh")).toHaveLength(3);
  });

  it("gives up after refreshRetrySeconds with network_error, keeps the session, and refreshes once the network is back", async () => {
    const gateway = new FakeGateway();
    const onLoggedOut = vi.fn();
    const client = await loggedIn(gateway, { onLoggedOut, refreshRetrySeconds: 5 });
    gateway.now += 61_000;
    gateway.networkDown = true;
    const started = gateway.now;
    await expect(client.fetch("/api/x")).rejects.toMatchObject({ code: "network_error" });
    expect(gateway.now - started).toBeLessThanOrEqual(5_000);
    expect(gateway.calls("/auth/refresh").length).toBeGreaterThan(2);
    expect(client.session).not.toBeNull();
    gateway.networkDown = false;
    expect((await client.fetch("/api/x")).status).toBe(200);
    expect(onLoggedOut).not.toHaveBeenCalled();
  });
});

describe("AuthClient: a gateway it cannot reach", () => {
  afterEach(() => vi.unstubAllGlobals());

  /** The message of the network_error a login gets from a page at `pageUrl` while the network is down. */
  async function loginMessage(pageUrl: string | null): Promise<string> {
    if (pageUrl !== null) vi.stubGlobal("location", { href: pageUrl });
    const gateway = new FakeGateway();
    gateway.networkDown = true;
    const error = await clientFor(gateway).login("bob", "right").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ code: "network_error", status: null });
    return (error as AuthClientError).message;
  }

  it("asks a page on another origin whether ALLOWED_ORIGINS has it: the browser hides a CORS refusal behind a failed fetch", async () => {
    expect(await loginMessage("https://app.example.com/account")).toBe(
      "The gateway is unreachable or refused by CORS (is this page's origin in ALLOWED_ORIGINS?): Failed to fetch",
    );
  });

  it("says only that the gateway could not be reached on the gateway's own origin, or outside a page", async () => {
    expect(await loginMessage(`${GATEWAY}/demo`)).toBe("The gateway could not be reached: Failed to fetch");
    expect(await loginMessage(null)).toBe("The gateway could not be reached: Failed to fetch");
  });
});

describe("AuthClient: tabs of one origin", () => {
  it("shares one rotation between two tabs that find the token expired at once", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    const tabA = await loggedIn(gateway, { storage: "localStorage" }, shared);
    const tabB = clientFor(gateway, { storage: "localStorage" }, shared);
    expect(tabB.session).toEqual(tabA.session);
    gateway.now += 61_000;
    const responses = await Promise.all([tabA.fetch("/api/a"), tabB.fetch("/api/b"), tabA.fetch("/api/c"), tabB.fetch("/api/d")]);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200]);
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    expect(tabA.session).toEqual(tabB.session);
  });

  it("tells every tab when a refresh is refused, each calling onLoggedOut once", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    const [onA, onB] = [vi.fn(), vi.fn()];
    const tabA = await loggedIn(gateway, { storage: "localStorage", onLoggedOut: onA }, shared);
    const tabB = clientFor(gateway, { storage: "localStorage", onLoggedOut: onB }, shared);
    gateway.revokeAll();
    await expect(tabA.refresh()).rejects.toMatchObject({ code: "logged_out" });
    await settle();
    expect(onA.mock.calls).toEqual([["refresh_refused"]]);
    expect(onB.mock.calls).toEqual([["refresh_refused"]]);
    expect(tabB.session).toBeNull();
    await expect(tabB.fetch("/api/x")).rejects.toMatchObject({ code: "logged_out" });
    expect(onB).toHaveBeenCalledTimes(1);
  });

  it("logs a tab out on the message even when its view of localStorage has not caught up yet", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    const onB = vi.fn();
    const tabA = await loggedIn(gateway, { storage: "localStorage" }, shared);
    // A browser syncs localStorage between tabs' processes asynchronously: tab B still sees the session.
    const laggingView = new FakeStorage();
    for (const [key, value] of shared.localStorage.items) laggingView.setItem(key, value);
    const tabB = clientFor(gateway, { storage: "localStorage", onLoggedOut: onB }, { ...shared, localStorage: laggingView });
    gateway.revokeAll();
    await expect(tabA.refresh()).rejects.toMatchObject({ code: "logged_out" });
    await settle();
    expect(onB.mock.calls).toEqual([["refresh_refused"]]);
    expect(tabB.session).toBeNull();
  });

  it("logs every tab out on logout, without calling the hook of the tab that asked", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    const [onA, onB] = [vi.fn(), vi.fn()];
    const tabA = await loggedIn(gateway, { storage: "localStorage", onLoggedOut: onA }, shared);
    clientFor(gateway, { storage: "localStorage", onLoggedOut: onB }, shared);
    await tabA.logout();
    await settle();
    expect(JSON.parse(gateway.calls("/auth/logout")[0]!.body)).toHaveProperty("refresh_token");
    expect([...gateway.sessions.values()][0]!.revoked).toBe(true);
    expect(shared.localStorage.items.size).toBe(0);
    expect(onA).not.toHaveBeenCalled();
    expect(onB.mock.calls).toEqual([["logged_out"]]);
  });

  it("keeps the session across a reload in localStorage mode, and not in memory mode", async () => {
    const gateway = new FakeGateway();
    const shared = origin();
    await loggedIn(gateway, { storage: "localStorage" }, shared);
    const reloaded = clientFor(gateway, { storage: "localStorage" }, shared);
    expect((await reloaded.fetch("/api/x")).status).toBe(200);
    await loggedIn(gateway, { storage: "memory" });
    await expect(clientFor(gateway, { storage: "memory" }).fetch("/api/x")).rejects.toMatchObject({ code: "logged_out" });
  });
});

describe("AuthClient: cookie mode", () => {
  it("holds no refresh token: refreshes with the cookie only, and restores the session after a reload", async () => {
    const gateway = new FakeGateway();
    gateway.cookieMode = true;
    const shared = origin();
    const client = await loggedIn(gateway, { storage: "cookie" }, shared);
    expect(gateway.calls("/auth/login")[0]!.credentials).toBe("include");
    expect([...shared.localStorage.items.values()].join()).not.toMatch(/rt\./);
    expect(JSON.stringify(client.session)).not.toMatch(/rt\./);
    await client.refresh();
    const [refresh] = gateway.calls("/auth/refresh");
    expect(refresh!.body).toBe("");
    expect(refresh!.credentials).toBe("include");

    const reloaded = clientFor(gateway, { storage: "cookie" }, shared);
    expect(reloaded.session).toBeNull();
    expect(await reloaded.restore()).toMatchObject({ sessionId: client.session!.sessionId });
    expect((await reloaded.fetch("/api/x")).status).toBe(200);
  });

  it("shares the access token a tab got with the others, so a second tab does not rotate again", async () => {
    const gateway = new FakeGateway();
    gateway.cookieMode = true;
    const shared = origin();
    const tabA = await loggedIn(gateway, { storage: "cookie" }, shared);
    await settle();
    const tabB = clientFor(gateway, { storage: "cookie" }, shared);
    await tabB.restore(); // a new tab: one rotation
    await settle();
    gateway.now += 61_000;
    await Promise.all([tabA.fetch("/api/a"), tabB.fetch("/api/b")]);
    expect(gateway.calls("/auth/refresh")).toHaveLength(2);
    expect(tabA.session).toEqual(tabB.session);
  });

  it("sends no request at all after the cookie was refused, until the next login", async () => {
    const gateway = new FakeGateway();
    gateway.cookieMode = true;
    const client = clientFor(gateway, { storage: "cookie" });
    expect(await client.restore()).toBeNull();
    await expect(client.fetch("/api/x")).rejects.toMatchObject({ code: "logged_out" });
    expect(gateway.calls("/auth/refresh")).toHaveLength(1);
    await client.login("bob", "right");
    expect((await client.fetch("/api/x")).status).toBe(200);
  });
});

describe("AuthClient: account and session routes", () => {
  it("registers, and reports a wrong password with its code", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway);
    expect(await client.register("bob", "right")).toEqual({ userId: "u1", breached: false });
    const error = await client.login("bob", "wrong").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ code: "invalid_credentials", status: 401 });
  });

  it("lists sessions, revokes another one, and ends this one when it revokes itself", async () => {
    const gateway = new FakeGateway();
    const laptop = await loggedIn(gateway);
    const phone = await loggedIn(gateway);
    const sessions = await laptop.sessions();
    expect(sessions.map((session) => session.current)).toEqual([true, false]);
    await laptop.revokeSession(phone.session!.sessionId);
    await expect(laptop.revokeSession(phone.session!.sessionId)).rejects.toMatchObject({ code: "not_found", status: 404 });
    await laptop.revokeSession(laptop.session!.sessionId);
    expect(laptop.session).toBeNull();
  });

  it("logs out every session with logoutAll", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await loggedIn(gateway);
    await client.logoutAll();
    expect([...gateway.sessions.values()].every((session) => session.revoked)).toBe(true);
    expect(client.session).toBeNull();
  });

  it("calls the proof hook for every request it sends, API calls with their token", async () => {
    const gateway = new FakeGateway();
    const proof = vi.fn(({ method }: { method: string }) => ({ "X-Proof": `proof-for-${method}` }));
    const client = await loggedIn(gateway, { proof });
    gateway.now += 61_000;
    await client.fetch("/api/x");
    expect(gateway.sent.map((entry) => [entry.path, entry.headers.get("X-Proof")])).toEqual([
      ["/auth/login", "proof-for-POST"],
      ["/auth/refresh", "proof-for-POST"],
      ["/api/x", "proof-for-GET"],
    ]);
    expect(proof.mock.calls.at(-1)![0]).toMatchObject({ method: "GET", url: `${GATEWAY}/api/x`, accessToken: expect.stringMatching(/^at\./) });
  });
});
