import { runInDurableObject } from "cloudflare:test";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { PASSWORD, adminHeaders, login, openSession, pairOf, postJson, refresh, registerUser, uniqueSub, userAuthStub } from "../helpers";
import { ageClaims, customClaims, hookCalls, HOOK, script, storedClaims, warnings } from "./hook";

// The claims hook (CLAIMS_HOOK_URL, here a real HTTP server on 127.0.0.1 that checks the
// gateway's signature): asked when a session opens, by every way in, and on a refresh whose claims
// are older than CLAIMS_TTL_SECONDS (300 here; a test makes claims due by dating their last check
// back); its answer replaces the session's claims when it follows the rules.

const TTL_SECONDS = 300;

describe("claims hook: opening a session", () => {
  it("asks the hook when the admin route opens a session, signed over the hook's path and query, and signs the access token with its answer", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { role: "editor", teams: ["a", "b"] } });
    const pair = await openSession(sub, { plan: "pro" });
    const calls = await hookCalls(sub);
    expect(calls).toEqual([
      {
        method: "POST",
        path: "/hook",
        search: "?v=1",
        headers: {
          "content-type": "application/json",
          "x-auth-user": sub,
          "x-auth-session": pair.session_id,
          "x-auth-timestamp": expect.stringMatching(/^\d+$/),
          "x-auth-signature": expect.stringMatching(/^v1=[A-Za-z0-9_-]{43}$/),
        },
        body: { sub, sid: pair.session_id, amr: ["adm"], claims: { plan: "pro" } },
        signature: { user: sub, session: pair.session_id },
      },
    ]);
    // The hook's claims replace the admin body's, whole.
    expect(customClaims(pair.access_token)).toEqual({ role: "editor", teams: ["a", "b"] });
    expect(await storedClaims(sub, pair.session_id)).toMatchObject({ claims: { role: "editor", teams: ["a", "b"] } });
  });

  it("asks it for a password login too, with amr pwd and no claims yet", async () => {
    const { username, userId } = await registerUser();
    const pair = await pairOf(await login(username, PASSWORD));
    const [call, ...more] = await hookCalls(userId);
    expect(more).toEqual([]);
    expect(call!.body).toEqual({ sub: userId, sid: pair.session_id, amr: ["pwd"], claims: {} });
    expect(call!.signature).toEqual({ user: userId, session: pair.session_id });
    expect(customClaims(pair.access_token)).toEqual({ hooked: true, call: 1 });
  });

  it("sends the call unsigned when ORIGIN_SIGNING_SECRET is unset, and still uses the answer", async () => {
    const sub = uniqueSub("hook");
    const pair = await openSession(sub, undefined, { ORIGIN_SIGNING_SECRET: "" });
    const [call] = await hookCalls(sub);
    expect(call!.headers).not.toHaveProperty("x-auth-signature");
    expect(call!.headers).not.toHaveProperty("x-auth-timestamp");
    expect(call!.signature).toEqual({ code: "missing" });
    expect(customClaims(pair.access_token)).toEqual({ hooked: true, call: 1 });
  });

  it("replaces the claims with none when the hook answers an empty object", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: {} });
    const pair = await openSession(sub, { plan: "pro" });
    expect(customClaims(pair.access_token)).toEqual({});
  });
});

describe("claims hook: refreshes", () => {
  it("does not ask again while the claims are younger than CLAIMS_TTL_SECONDS, and keeps them in every token", async () => {
    const sub = uniqueSub("hook");
    let pair = await openSession(sub);
    for (let i = 0; i < 3; i++) pair = await pairOf(await refresh(pair.refresh_token));
    expect(await hookCalls(sub)).toHaveLength(1);
    expect(customClaims(pair.access_token)).toEqual({ hooked: true, call: 1 });
  });

  it("asks once the claims are older than the TTL, sends the claims it holds, and stores and signs the answer", async () => {
    const sub = uniqueSub("hook");
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const before = Date.now();
    const next = await pairOf(await refresh(opened.refresh_token));
    const calls = await hookCalls(sub);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body).toEqual({ sub, sid: opened.session_id, amr: ["adm"], claims: { hooked: true, call: 1 } });
    expect(calls[1]!.signature).toEqual({ user: sub, session: opened.session_id });
    expect(customClaims(next.access_token)).toEqual({ hooked: true, call: 2 });
    const stored = await storedClaims(sub, opened.session_id);
    expect(stored.claims).toEqual({ hooked: true, call: 2 });
    expect(stored.checkedAt).toBeGreaterThanOrEqual(before);
    // Fresh again: the next refresh does not ask.
    const after = await pairOf(await refresh(next.refresh_token));
    expect(customClaims(after.access_token)).toEqual({ hooked: true, call: 2 });
    expect(await hookCalls(sub)).toHaveLength(2);
  });

  it.each([
    ["a quick hook", 0],
    ["a hook that takes 300 ms, so the other refreshes arrive while it is asked", 300],
  ])("makes one call for 20 refreshes of a session that fall due at once, with %s", async (_what, delayMs) => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { v: 1 } }, { claims: { v: 2 }, delayMs });
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(opened.refresh_token).then(pairOf)));
    // Grace on: one rotation, nineteen replays of it, one hook call among them.
    expect(new Set(answers.map((answer) => answer.refresh_token)).size).toBe(1);
    expect(await hookCalls(sub)).toHaveLength(2);
    const seen = answers.map((answer) => customClaims(answer.access_token));
    expect(seen).toContainEqual({ v: 2 });
    for (const claims of seen) expect([{ v: 1 }, { v: 2 }]).toContainEqual(claims);
    expect((await storedClaims(sub, opened.session_id)).claims).toEqual({ v: 2 });
  });

  it("makes one call per session when several sessions of a user fall due at once", async () => {
    const sub = uniqueSub("hook");
    const sessions = await Promise.all(Array.from({ length: 5 }, () => openSession(sub)));
    for (const session of sessions) await ageClaims(sub, session.session_id, TTL_SECONDS);
    await Promise.all(sessions.flatMap((session) => [refresh(session.refresh_token), refresh(session.refresh_token)]).map((response) => response.then(pairOf)));
    const calls = await hookCalls(sub);
    expect(calls).toHaveLength(10);
    const perSession = new Map<string, number>();
    for (const call of calls) perSession.set(String((call.body as { sid: string }).sid), (perSession.get((call.body as { sid: string }).sid) ?? 0) + 1);
    expect([...perSession.values()]).toEqual([2, 2, 2, 2, 2]);
  });
});

describe("claims hook: the stored claims and the call that was handed out", () => {
  it("neither shows the hook nor lets it replace what the gateway keeps among the claims itself (a federated session's idp)", async () => {
    const sub = uniqueSub("hook");
    const opened = await openSession(sub);
    // A session opened by an upstream provider keeps its `idp` with its claims.
    await runInDurableObject(userAuthStub(sub), (_instance, state) => {
      state.storage.sql.exec("UPDATE sessions SET claims = ? WHERE id = ?", JSON.stringify({ idp: "local", hooked: true, call: 1 }), opened.session_id);
    });
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const next = await pairOf(await refresh(opened.refresh_token));
    expect((await hookCalls(sub))[1]!.body).toEqual({ sub, sid: opened.session_id, amr: ["adm"], claims: { hooked: true, call: 1 } });
    expect(decodeJwt(next.access_token)).toMatchObject({ idp: "local", hooked: true, call: 2 });
    expect((await storedClaims(sub, opened.session_id)).claims).toEqual({ hooked: true, call: 2, idp: "local" });
  });

  it("stores an answer only for the call the object handed out last, and never for a session that ended", async () => {
    const sub = uniqueSub("hook");
    const opened = await openSession(sub);
    const { checkedAt } = await storedClaims(sub, opened.session_id);
    const stub = userAuthStub(sub);
    expect(await stub.replaceClaims({ sessionId: opened.session_id, lease: checkedAt - 1, claims: { stale: true } })).toEqual({ hooked: true, call: 1 });
    expect(await stub.replaceClaims({ sessionId: opened.session_id, lease: checkedAt, claims: { fresh: true } })).toEqual({ fresh: true });
    expect(await stub.replaceClaims({ sessionId: crypto.randomUUID(), lease: checkedAt, claims: { fresh: true } })).toBeNull();
    await postJson("/auth/logout", { refresh_token: opened.refresh_token });
    expect(await stub.replaceClaims({ sessionId: opened.session_id, lease: checkedAt, claims: { late: true } })).toEqual({ fresh: true });
    expect((await storedClaims(sub, opened.session_id)).claims).toEqual({ fresh: true });
  });

  it("answers the refresh, but leaves the claims as they were, when the session is revoked while the hook is asked", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { v: 1 } }, { claims: { v: 2 }, delayMs: 500 });
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const refreshing = refresh(opened.refresh_token);
    // Once the hook has the call (it waits 500 ms before answering), the user logs out everywhere.
    while ((await hookCalls(sub)).length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await postJson(`/auth/admin/users/${sub}/revoke`, {}, adminHeaders)).status).toBe(204);
    const answer = await pairOf(await refreshing);
    expect(customClaims(answer.access_token)).toEqual({ v: 1 });
    expect((await storedClaims(sub, opened.session_id)).claims).toEqual({ v: 1 });
  });
});

describe("claims hook: an answer that does not replace the claims", () => {
  const claimsOfBytes = (bytes: number) => {
    // {"claims":{"x":"..."}} has 9 bytes of JSON around the value in the claims object itself.
    return { x: "y".repeat(bytes - '{"x":""}'.length) };
  };

  it.each<[string, Parameters<typeof script>[1], string, Record<string, unknown>?]>([
    ["a 500", { status: 500, body: '{"claims":{"role":"admin"}}' }, "status", { status: 500 }],
    ["a 201", { status: 201, body: '{"claims":{"role":"admin"}}' }, "status", { status: 201 }],
    ["a 204", { status: 204 }, "status", { status: 204 }],
    ["a redirect, which is not followed", { redirect: `${HOOK}/hook?v=1` }, "redirect", { status: 302 }],
    ["garbage", { status: 200, body: "<html>oops</html>" }, "not_json"],
    ["invalid JSON", { status: 200, body: '{"claims":{"role":' }, "not_json"],
    ["bytes that are not UTF-8", { status: 200, bodyBase64: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString("base64") }, "not_json"],
    ["JSON without claims", { status: 200, body: '{"role":"admin"}' }, "claim_rules", { problem: "claims must be a JSON object" }],
    ["claims that are an array", { status: 200, body: '{"claims":["admin"]}' }, "claim_rules", { problem: "claims must be a JSON object" }],
    ["a reserved claim (sub)", { claims: { sub: "someone-else", role: "admin" } }, "claim_rules"],
    ["a reserved claim (cnf)", { claims: { cnf: { jkt: "x" } } }, "claim_rules"],
    ["a reserved claim (amr)", { claims: { amr: ["hwk"] } }, "claim_rules"],
    ["a reserved claim (iss)", { claims: { iss: "https://evil.example" } }, "claim_rules"],
    ["a nested object", { claims: { org: { id: 1 } } }, "claim_rules", { problem: "claims.org must be a string, number, boolean or an array of up to 100 of them" }],
    ["an array of objects", { claims: { orgs: [{ id: 1 }] } }, "claim_rules"],
    ["101 values in an array", { claims: { many: Array.from({ length: 101 }, (_, i) => i) } }, "claim_rules"],
    ["__proto__", { status: 200, body: '{"claims":{"__proto__":{"admin":true}}}' }, "claim_rules"],
    ["4,097 bytes of claims", { claims: claimsOfBytes(4097) }, "claim_rules", { problem: "claims must be at most 4096 bytes of JSON" }],
    ["a body over 16 KiB, by its Content-Length", { status: 200, body: `{"claims":{}}${" ".repeat(17_000)}` }, "too_large"],
    ["a body that never ends", { endless: true }, "too_large"],
  ])("keeps the last claims when the hook answers %s, and logs why without the values", async (_what, entry, reason, detail = {}) => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { role: "member", secret_hint: "s3cr3t-value" } }, entry);
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    let answer!: Awaited<ReturnType<typeof pairOf>>;
    const lines = await warnings(async () => {
      answer = await pairOf(await refresh(opened.refresh_token));
    });
    expect(customClaims(answer.access_token)).toEqual({ role: "member", secret_hint: "s3cr3t-value" });
    expect((await storedClaims(sub, opened.session_id)).claims).toEqual({ role: "member", secret_hint: "s3cr3t-value" });
    const logged = lines.filter((line) => line.event === "claims_hook_failed");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ event: "claims_hook_failed", reason, session_id: opened.session_id, ms: expect.any(Number), ...detail });
    // Names, sizes and statuses only.
    for (const name of Object.keys(logged[0]!)) expect(["event", "reason", "session_id", "ms", "status", "bytes", "problem", "claims"]).toContain(name);
    expect(JSON.stringify(lines)).not.toMatch(/s3cr3t|someone-else|evil\.example|"admin"/);
    // One call for the opening and one for the refresh: nothing was retried, nothing followed.
    expect(await hookCalls(sub)).toHaveLength(2);
  });

  it("uses claims of exactly 4,096 bytes", async () => {
    const sub = uniqueSub("hook");
    const claims = claimsOfBytes(4096);
    expect(new TextEncoder().encode(JSON.stringify(claims)).byteLength).toBe(4096);
    await script(sub, { claims });
    expect(customClaims((await openSession(sub)).access_token)).toEqual(claims);
  });

  it.each([
    ["never answers", { hang: true } as const],
    ["answers 200 and never finishes its body", { hangBody: true } as const],
  ])("gives up after 2 s on a hook that %s and answers the refresh with the last claims", async (_what, entry) => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { v: 1 } }, entry);
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const started = Date.now();
    let answer!: Awaited<ReturnType<typeof pairOf>>;
    const lines = await warnings(async () => {
      answer = await pairOf(await refresh(opened.refresh_token));
    });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(4000);
    expect(customClaims(answer.access_token)).toEqual({ v: 1 });
    expect(lines.filter((line) => line.event === "claims_hook_failed").map((line) => line.reason)).toEqual(["timeout"]);
  });

  it("stops reading a body that never ends at 16 KiB instead of waiting out the budget", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { v: 1 } }, { endless: true });
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    const started = Date.now();
    await pairOf(await refresh(opened.refresh_token));
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("opens the session with the claims it was given when the hook fails at sign-in", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { status: 503, body: "down" });
    let pair!: Awaited<ReturnType<typeof openSession>>;
    const lines = await warnings(async () => {
      pair = await openSession(sub, { plan: "pro" });
    });
    expect(customClaims(pair.access_token)).toEqual({ plan: "pro" });
    expect(lines.map((line) => line.reason)).toEqual(["status"]);
  });

  it("keeps the last claims when the hook cannot be reached", async () => {
    const sub = uniqueSub("hook");
    const opened = await openSession(sub);
    await ageClaims(sub, opened.session_id, TTL_SECONDS);
    let answer!: Awaited<ReturnType<typeof pairOf>>;
    const lines = await warnings(async () => {
      // A port nothing listens on (the hook's own URL, with the port of the discard service).
      answer = await pairOf(await refresh(opened.refresh_token, { CLAIMS_HOOK_URL: "http://127.0.0.1:9/hook" }));
    });
    expect(customClaims(answer.access_token)).toEqual({ hooked: true, call: 1 });
    expect(lines.filter((line) => line.event === "claims_hook_failed").map((line) => line.reason)).toEqual(["unreachable"]);
  });

  it("asks a failing hook again only a TTL later, and takes its answer once it is back", async () => {
    const sub = uniqueSub("hook");
    await script(sub, { claims: { v: 1 } }, { status: 500 }, { claims: { v: 3 } });
    let pair = await openSession(sub);
    await ageClaims(sub, pair.session_id, TTL_SECONDS);
    await warnings(async () => {
      pair = await pairOf(await refresh(pair.refresh_token));
      pair = await pairOf(await refresh(pair.refresh_token));
    });
    expect(await hookCalls(sub)).toHaveLength(2);
    expect(customClaims(pair.access_token)).toEqual({ v: 1 });
    await ageClaims(sub, pair.session_id, TTL_SECONDS);
    pair = await pairOf(await refresh(pair.refresh_token));
    expect(await hookCalls(sub)).toHaveLength(3);
    expect(customClaims(pair.access_token)).toEqual({ v: 3 });
    expect(decodeJwt(pair.access_token).sub).toBe(sub);
  });
});
