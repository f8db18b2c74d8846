import { runInDurableObject } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { dpopClient } from "./dpop-proofs";
import { listSessions } from "./listed-sessions";
import {
  adminHeaders,
  bearer,
  call,
  eventsOf,
  expectError,
  fromIp,
  login,
  PASSWORD,
  pairOf,
  postJson,
  refresh,
  registerUser,
  uniqueIp,
  uniqueSub,
  userAuthStub,
  type TokenResponse,
} from "./helpers";

// Every way in ends in one place: the session carries how (`amr`) and when (`auth_time`) the
// user signed in, in every access token from the first to the last refresh, in the session
// list, and in the `login` event. The ways in today: a password, and the admin route.

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The `amr` and `auth_time` claims of a token response's access token. */
function authentication(pair: TokenResponse) {
  const claims = decodeJwt(pair.access_token);
  return { amr: claims.amr, auth_time: claims.auth_time };
}

/** The `amr` and `auth_time` of a token pair's session as `GET /auth/sessions` lists them. */
async function listed(pair: TokenResponse) {
  const session = (await listSessions(pair.access_token)).find((entry) => entry.id === pair.session_id)!;
  return { amr: session.amr, auth_time: session.auth_time };
}

/** Moves a session's `auth_time` back by `ms` in its user's object, as if the user had signed in that long ago. */
function signedInEarlier(sub: string, sessionId: string, ms: number) {
  return runInDurableObject(userAuthStub(sub), (_instance, state) => {
    state.storage.sql.exec("UPDATE sessions SET auth_time = auth_time - ? WHERE id = ?", ms, sessionId);
  });
}

async function openAdminSession(body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await postJson("/auth/admin/sessions", body, { ...adminHeaders, ...headers });
  expect(response.status).toBe(201);
  return (await response.json()) as TokenResponse;
}

describe("a password login", () => {
  it("carries amr pwd and the login's auth_time in its access token, in the session list and a login event with method password", async () => {
    const { username, userId } = await registerUser();
    const ip = uniqueIp();
    const before = Math.floor(Date.now() / 1000);
    const pair = await pairOf(await login(username, PASSWORD, fromIp(ip)));
    const after = Math.ceil(Date.now() / 1000);

    const { amr, auth_time } = authentication(pair);
    expect(amr).toEqual(["pwd"]);
    expect(auth_time).toBeGreaterThanOrEqual(before);
    expect(auth_time).toBeLessThanOrEqual(after);
    // auth_time is epoch seconds; the list shows the same moment as ISO 8601, to the millisecond.
    const inList = await listed(pair);
    expect(inList.amr).toEqual(["pwd"]);
    expect(inList.auth_time).toMatch(ISO);
    expect(Math.floor(Date.parse(inList.auth_time) / 1000)).toBe(auth_time);

    const events = await eventsOf(userId, "login");
    expect(events).toEqual([expect.objectContaining({ session_id: pair.session_id, ip, detail: { method: "password" } })]);
  });

  it("keeps amr and the original auth_time across rotations and grace replays, while iat moves on", async () => {
    const { username, userId } = await registerUser();
    const first = await pairOf(await login(username, PASSWORD));
    // As if the password was typed an hour ago: what a refresh hands out must come from the
    // session, not from the moment of the refresh.
    await signedInEarlier(userId, first.session_id, 3_600_000);
    const signedInAt = (authentication(first).auth_time as number) - 3600;

    const second = await pairOf(await refresh(first.refresh_token));
    const replay = await pairOf(await refresh(first.refresh_token));
    expect(replay.refresh_token).toBe(second.refresh_token);
    const third = await pairOf(await refresh(second.refresh_token));
    for (const pair of [second, replay, third]) {
      expect(authentication(pair)).toEqual({ amr: ["pwd"], auth_time: signedInAt });
      expect(decodeJwt(pair.access_token).iat).toBeGreaterThanOrEqual(signedInAt + 3600);
    }
    expect(await listed(third)).toEqual({ amr: ["pwd"], auth_time: expect.stringMatching(ISO) });
    expect(Math.floor(Date.parse((await listed(third)).auth_time) / 1000)).toBe(signedInAt);
  });

  it("still carries them on a DPoP-bound session, beside cnf", async () => {
    const { username } = await registerUser();
    const client = await dpopClient();
    const pair = await pairOf(await login(username, PASSWORD, { DPoP: await client.proof("POST", "/auth/login") }));
    expect(decodeJwt(pair.access_token)).toMatchObject({ amr: ["pwd"], auth_time: expect.any(Number), cnf: { jkt: client.jkt } });
    const next = await pairOf(
      await postJson("/auth/refresh", { refresh_token: pair.refresh_token }, { DPoP: await client.proof("POST", "/auth/refresh") }),
    );
    expect(authentication(next)).toEqual(authentication(pair));
  });
});

describe("a session opened through the admin route", () => {
  it("carries amr adm and the opening's auth_time, kept across refreshes, and records session_created without detail", async () => {
    const sub = uniqueSub();
    const before = Math.floor(Date.now() / 1000);
    const pair = await openAdminSession({ sub });
    expect(authentication(pair)).toEqual({ amr: ["adm"], auth_time: expect.any(Number) });
    expect(authentication(pair).auth_time).toBeGreaterThanOrEqual(before);
    expect(authentication(await pairOf(await refresh(pair.refresh_token)))).toEqual(authentication(pair));
    expect((await listed(pair)).amr).toEqual(["adm"]);
    expect(await eventsOf(sub, "session_created")).toEqual([expect.objectContaining({ session_id: pair.session_id, detail: null })]);
  });

  it("carries the amr the back end gives, beside its custom claims", async () => {
    const sub = uniqueSub();
    const pair = await openAdminSession({ sub, amr: ["hwk", "user"], claims: { role: "editor" } });
    expect(decodeJwt(pair.access_token)).toMatchObject({ amr: ["hwk", "user"], role: "editor" });
    const next = await pairOf(await refresh(pair.refresh_token));
    expect(decodeJwt(next.access_token)).toMatchObject({ amr: ["hwk", "user"], role: "editor" });
    expect((await listed(next)).amr).toEqual(["hwk", "user"]);
  });

  it("refuses an amr that is not a non-empty array of distinct contract values, with 400 invalid_request, and opens nothing", async () => {
    const sub = uniqueSub();
    for (const amr of [[], ["sms"], ["pwd", "pwd"], "pwd", [1], [["pwd"]], null, { pwd: true }]) {
      const response = await postJson("/auth/admin/sessions", { sub, amr }, adminHeaders);
      const description = await expectError(response, 400, "invalid_request");
      expect(description, JSON.stringify(amr)).toMatch(/^amr(\.\d+)? must be a non-empty array of distinct values among pwd, otp, mfa, hwk, user, fed, adm$/);
    }
    expect(await eventsOf(sub, "session_created")).toEqual([]);
  });

  it("refuses custom claims named amr, auth_time or idp: the gateway sets those", async () => {
    for (const name of ["amr", "auth_time", "idp"]) {
      const response = await postJson("/auth/admin/sessions", { sub: uniqueSub(), claims: { [name]: "x" } }, adminHeaders);
      expect(await expectError(response, 400, "invalid_request")).toContain("must not name a claim the gateway sets");
    }
  });
});

describe("the verifier", () => {
  it("treats amr and auth_time as ordinary claims: the gateway forwards a session's requests with them", async () => {
    const pair = await openAdminSession({ sub: uniqueSub(), amr: ["fed"] });
    const response = await call("/api/whoami", { headers: bearer(pair.access_token) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { headers: Record<string, string> }).headers["x-auth-session"]).toBe(pair.session_id);
  });
});
