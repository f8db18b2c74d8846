import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import type { AddedPasskey, PasskeyList, SessionList, TokenResponse } from "../../src/wire";
import {
  addPasskey,
  authenticationCeremony,
  bearer,
  call,
  eventsOf,
  expectError,
  fromIp,
  loginWithPasskey,
  onlyEvent,
  pairOf,
  postJson,
  refresh,
  registrationCeremony,
  sessionOfNewUser,
  SoftwarePasskey,
  uniqueIp,
  amrOf,
  mfaTokenOf,
  userWithTotp,
} from "../helpers";
import { dpopClient } from "../dpop-proofs";

// The contract's passkey rows over HTTP, through the real worker, the user's real Durable Object
// and D1, with a software authenticator (checked against @simplewebauthn/server itself in
// authenticator.test.ts).

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("POST /auth/passkeys/registration", () => {
  it("hands out creation options for a discoverable, user-verified credential of the caller, with a ceremony", async () => {
    const user = await sessionOfNewUser("pk");
    const { ceremony, options } = await registrationCeremony(user.access_token);
    expect(ceremony).toMatch(/^pk1\./);
    expect(options.rp).toEqual({ id: "localhost", name: "edge-auth-gateway" });
    expect(options.user.id).toBe(Buffer.from(user.sub, "utf8").toString("base64url"));
    expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(options.excludeCredentials).toEqual([]);
  });

  it("lists the user's passkeys in excludeCredentials, and shows a registered user's username", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    expect((await addPasskey(user.access_token, passkey)).status).toBe(201);
    const { options } = await registrationCeremony(user.access_token);
    expect(options.excludeCredentials).toEqual([{ id: passkey.credentialId, type: "public-key", transports: ["internal", "hybrid"] }]);
  });

  it("answers 401 without a token", async () => {
    await expectError(await postJson("/auth/passkeys/registration", {}), 401, "unauthorized");
  });
});

describe("POST /auth/passkeys", () => {
  it("stores the passkey: 201 with its id, name and time, and a passkey_added event", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    const from = Date.now();
    const response = await addPasskey(user.access_token, passkey, { name: "  Laptop  " });
    expect(response.status).toBe(201);
    const added = (await response.json()) as AddedPasskey;
    expect(added).toEqual({ id: passkey.credentialId, name: "Laptop", created_at: expect.stringMatching(ISO) });
    const event = await onlyEvent(user.sub, "passkey_added", { from });
    expect(event.session_id).toBe(user.session_id);
    expect(event.detail).toEqual({ passkey_id: passkey.credentialId, name: "Laptop" });
  });

  it.each(["none", "packed"] as const)("takes %s attestation", async (attestation) => {
    const user = await sessionOfNewUser("pk");
    expect((await addPasskey(user.access_token, await SoftwarePasskey.make(), { tweaks: { attestation } })).status).toBe(201);
  });

  it.each([
    ["another origin", { origin: "http://evil.test" }],
    ["another RP ID", { rpId: "evil.test" }],
    ["no user verification", { userVerified: false }],
    ["no user presence", { userPresent: false }],
    ["another challenge", { challenge: "A".repeat(43) }],
    ["the type of a login", { type: "webauthn.get" }],
  ])("answers 400 invalid_passkey for a response with %s, and stores nothing", async (_what, tweaks) => {
    const user = await sessionOfNewUser("pk");
    await expectError(await addPasskey(user.access_token, await SoftwarePasskey.make(), { tweaks }), 400, "invalid_passkey");
    expect(await listOf(user.access_token)).toEqual([]);
  });

  it("refuses a registration replayed, a ceremony of another user, and one of the login kind", async () => {
    const user = await sessionOfNewUser("pk");
    const other = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    const { ceremony, options } = await registrationCeremony(user.access_token);
    const credential = await passkey.create(options);
    expect((await postJson("/auth/passkeys", { ceremony, credential }, bearer(user.access_token))).status).toBe(201);
    // The same response again (say, after the user deleted the passkey): the ceremony is spent.
    expect((await call(`/auth/passkeys/${passkey.credentialId}`, { method: "DELETE", headers: bearer(user.access_token) })).status).toBe(204);
    await expectError(await postJson("/auth/passkeys", { ceremony, credential }, bearer(user.access_token)), 400, "invalid_passkey");
    // Another user presenting this user's ceremony and response.
    const fresh = await registrationCeremony(user.access_token);
    const second = await SoftwarePasskey.make();
    await expectError(await postJson("/auth/passkeys", { ceremony: fresh.ceremony, credential: await second.create(fresh.options) }, bearer(other.access_token)), 400, "invalid_passkey");
    // A login ceremony used for a registration.
    const login = await authenticationCeremony();
    await expectError(await postJson("/auth/passkeys", { ceremony: login.ceremony, credential: await second.create({ ...fresh.options, challenge: login.options.challenge }) }, bearer(user.access_token)), 400, "invalid_passkey");
    expect(await listOf(user.access_token)).toEqual([]);
    expect(await listOf(other.access_token)).toEqual([]);
  });

  it("refuses the same authenticator twice for one user", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    expect((await addPasskey(user.access_token, passkey)).status).toBe(201);
    await expectError(await addPasskey(user.access_token, passkey), 400, "invalid_passkey");
    expect(await listOf(user.access_token)).toHaveLength(1);
  });

  it("answers 409 passkey_limit past 20 passkeys, and keeps 20", async () => {
    const user = await sessionOfNewUser("pk");
    for (let i = 0; i < 20; i++) expect((await addPasskey(user.access_token, await SoftwarePasskey.make(), { name: `key ${i}` })).status).toBe(201);
    await expectError(await addPasskey(user.access_token, await SoftwarePasskey.make()), 409, "passkey_limit");
    expect(await listOf(user.access_token)).toHaveLength(20);
  });

  it("answers 400 invalid_request for a name over 64 characters", async () => {
    const user = await sessionOfNewUser("pk");
    const description = await expectError(await addPasskey(user.access_token, await SoftwarePasskey.make(), { name: "x".repeat(65) }), 400, "invalid_request");
    expect(description).toContain("name");
  });
});

describe("GET /auth/passkeys and DELETE /auth/passkeys/:id", () => {
  it("lists the caller's passkeys, and deletes one with a passkey_removed event; a second delete is 404", async () => {
    const user = await sessionOfNewUser("pk");
    const [a, b] = [await SoftwarePasskey.make(), await SoftwarePasskey.make()];
    await addPasskey(user.access_token, a, { name: "phone" });
    await addPasskey(user.access_token, b);
    const listed = await listOf(user.access_token);
    expect(listed).toEqual([
      { id: a.credentialId, name: "phone", created_at: expect.stringMatching(ISO), last_used_at: null, backed_up: true, transports: ["internal", "hybrid"] },
      { id: b.credentialId, name: null, created_at: expect.stringMatching(ISO), last_used_at: null, backed_up: true, transports: ["internal", "hybrid"] },
    ]);
    const from = Date.now();
    expect((await call(`/auth/passkeys/${a.credentialId}`, { method: "DELETE", headers: bearer(user.access_token) })).status).toBe(204);
    expect((await onlyEvent(user.sub, "passkey_removed", { from })).detail).toEqual({ passkey_id: a.credentialId });
    await expectError(await call(`/auth/passkeys/${a.credentialId}`, { method: "DELETE", headers: bearer(user.access_token) }), 404, "not_found");
    expect((await listOf(user.access_token)).map((passkey) => passkey.id)).toEqual([b.credentialId]);
    // The deleted passkey no longer signs in.
    await expectError(await loginWithPasskey(a), 401, "invalid_credentials");
  });

  it("answers 404 for another user's passkey and for an id that is not one, and deletes nothing", async () => {
    const owner = await sessionOfNewUser("pk");
    const other = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    await addPasskey(owner.access_token, passkey);
    await expectError(await call(`/auth/passkeys/${passkey.credentialId}`, { method: "DELETE", headers: bearer(other.access_token) }), 404, "not_found");
    await expectError(await call(`/auth/passkeys/not%20an%20id`, { method: "DELETE", headers: bearer(other.access_token) }), 404, "not_found");
    await expectError(await call(`/auth/passkeys/${"A".repeat(2000)}`, { method: "DELETE", headers: bearer(other.access_token) }), 404, "not_found");
    expect(await listOf(owner.access_token)).toHaveLength(1);
  });

  it("answer 401 without a token", async () => {
    await expectError(await call("/auth/passkeys"), 401, "unauthorized");
    await expectError(await call("/auth/passkeys/abc", { method: "DELETE" }), 401, "unauthorized");
  });
});

describe("POST /auth/passkeys/authentication", () => {
  it("hands out request options with an empty allowCredentials and user verification required, storing nothing", async () => {
    const { ceremony, options } = await authenticationCeremony();
    expect(ceremony).toMatch(/^pk1\./);
    expect(options).toMatchObject({ rpId: "localhost", allowCredentials: [], userVerification: "required" });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await authenticationCeremony();
    expect(second.options.challenge).not.toBe(options.challenge);
  });
});

describe("POST /auth/passkeys/login", () => {
  it("signs in with no username: a TokenResponse whose tokens carry amr hwk user and auth_time, a login event with method passkey", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    await addPasskey(user.access_token, passkey);
    const from = Date.now();
    const pair = await pairOf(await loginWithPasskey(passkey, { headers: fromIp(uniqueIp()) }));
    expect(pair.token_type).toBe("Bearer");
    const claims = decodeJwt(pair.access_token);
    expect(claims).toMatchObject({ sub: user.sub, sid: pair.session_id, amr: ["hwk", "user"] });
    expect(claims.auth_time).toBeGreaterThanOrEqual(Math.floor(from / 1000));
    const events = await eventsOf(user.sub, "login");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ session_id: pair.session_id, detail: { method: "passkey" } });
    // A refresh keeps amr, and the session list shows it.
    const refreshed = await pairOf(await refresh(pair.refresh_token));
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ amr: ["hwk", "user"], auth_time: claims.auth_time });
    const sessions = (await (await call("/auth/sessions", { headers: bearer(refreshed.access_token) })).json()) as SessionList;
    expect(sessions.sessions.find((session) => session.current)).toMatchObject({ amr: ["hwk", "user"] });
    // The passkey's counter and last use are stored.
    const [listed] = await listOf(refreshed.access_token);
    expect(listed!.last_used_at).toMatch(ISO);
  });

  it("signs in again and again while the counter rises, and with an authenticator that does not count", async () => {
    const user = await sessionOfNewUser("pk");
    const counting = await SoftwarePasskey.make();
    const synced = await SoftwarePasskey.make({ counts: false });
    await addPasskey(user.access_token, counting);
    await addPasskey(user.access_token, synced);
    for (let i = 0; i < 3; i++) {
      expect((await loginWithPasskey(counting)).status).toBe(200);
      expect((await loginWithPasskey(synced)).status).toBe(200);
    }
  });

  it("refuses a counter that went backwards with 401 and records passkey_counter_regressed", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    await addPasskey(user.access_token, passkey);
    expect((await loginWithPasskey(passkey, { tweaks: { counter: 7 } })).status).toBe(200);
    const from = Date.now();
    // A clone of the key, whose counter lags the original's.
    await expectError(await loginWithPasskey(passkey, { tweaks: { counter: 7 } }), 401, "invalid_credentials");
    await expectError(await loginWithPasskey(passkey, { tweaks: { counter: 3 } }), 401, "invalid_credentials");
    const events = await eventsOf(user.sub, "passkey_counter_regressed");
    expect(events.map((event) => event.detail)).toEqual([
      { passkey_id: passkey.credentialId, stored_counter: 7, presented_counter: 3 },
      { passkey_id: passkey.credentialId, stored_counter: 7, presented_counter: 7 },
    ]);
    expect(Date.parse(events[0]!.at)).toBeGreaterThanOrEqual(from - 1000);
    // Only the one login opened a session.
    expect(await eventsOf(user.sub, "login")).toHaveLength(1);
    expect((await loginWithPasskey(passkey, { tweaks: { counter: 8 } })).status).toBe(200);
  });

  it("never asks a user with TOTP on for a code: the passkey is two factors already", async () => {
    const user = await userWithTotp();
    const passkey = await SoftwarePasskey.make();
    expect((await addPasskey(user.session.access_token, passkey)).status).toBe(201);
    await mfaTokenOf(user);
    const pair = await pairOf(await loginWithPasskey(passkey));
    expect(amrOf(pair.access_token)).toEqual(["hwk", "user"]);
  });

  it("binds the session to the DPoP key of the login request", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    await addPasskey(user.access_token, passkey);
    const { ceremony, options } = await authenticationCeremony();
    const credential = await passkey.get(options);
    const client = await dpopClient();
    const pair = (await pairOf(await postJson("/auth/passkeys/login", { ceremony, credential }, { DPoP: await client.proof("POST", "/auth/passkeys/login") }))) as TokenResponse;
    expect(pair.token_type).toBe("DPoP");
    expect(decodeJwt(pair.access_token)).toMatchObject({ cnf: { jkt: client.jkt } });
  });
});

describe("the passkey routes", () => {
  it("answer another method with 405 and Allow", async () => {
    const login = await call("/auth/passkeys/login");
    expect(login.status).toBe(405);
    // DELETE /auth/passkeys/:id matches this path too (it answers 404: no passkey has that id).
    expect(login.headers.get("Allow")).toBe("DELETE, POST");
    const list = await call("/auth/passkeys", { method: "PUT" });
    expect(list.status).toBe(405);
    expect(list.headers.get("Allow")).toBe("POST, GET, HEAD");
  });

  it("refuse a passkey login from another site in cookie mode with 403 forbidden_origin, before the passkey is looked at", async () => {
    const { ceremony } = await authenticationCeremony();
    const response = await postJson("/auth/passkeys/login", { ceremony, credential: {} }, { Origin: "https://evil.example" }, { REFRESH_COOKIE: "true" });
    await expectError(response, 403, "forbidden_origin");
    expect(response.headers.get("Set-Cookie")).toBeNull();
  });

  it("set the refresh cookie of a passkey login in cookie mode", async () => {
    const user = await sessionOfNewUser("pk");
    const passkey = await SoftwarePasskey.make();
    await addPasskey(user.access_token, passkey);
    const { ceremony, options } = await authenticationCeremony();
    const response = await postJson("/auth/passkeys/login", { ceremony, credential: await passkey.get(options) }, { Origin: "http://gateway.test" }, { REFRESH_COOKIE: "true" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Set-Cookie")).toMatch(/^__Host-refresh_token=rt1\./);
  });
});

async function listOf(accessToken: string) {
  const response = await call("/auth/passkeys", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  return ((await response.json()) as PasskeyList).passkeys;
}
