import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../src/http/body";
import { newCeremony, sealCeremony } from "../../src/passkeys/ceremony";
import { MAX_SPENT_CEREMONIES } from "../../src/passkeys/passkey-rules";
import { withPasskeys } from "../../src/sessions/lookup";
import { loadKeyRing } from "../../src/tokens/key-ring";
import {
  addPasskey,
  authenticationCeremony,
  base64url,
  bearer,
  call,
  eventsFrom,
  eventsOf,
  expectError,
  fromIp,
  loginWithPasskey,
  postJson,
  registrationCeremony,
  sessionOfNewUser,
  SoftwarePasskey,
  uniqueIp,
  uniqueSub,
  userAuthStub,
} from "../helpers";

// What a broken or hostile client can send to the passkey routes, and what it gets: the
// contract's 4xx, never a 500, and nothing changes.

async function userWithPasskey() {
  const user = await sessionOfNewUser("pk");
  const passkey = await SoftwarePasskey.make();
  expect((await addPasskey(user.access_token, passkey)).status).toBe(201);
  return { ...user, passkey };
}

/** What the user's object keeps of passkeys. */
function counts(sub: string) {
  return withPasskeys(env, sub, (passkeys) => passkeys.counts());
}

const ring = () => loadKeyRing(env.SIGNING_KEYS);

describe("a passkey body that is not what the route takes", () => {
  it.each([
    ["/auth/passkeys", true],
    ["/auth/passkeys/login", false],
  ])("%s answers malformed JSON, wrong types and a body over 16 KiB with 400, 400 and 413", async (path, needsToken) => {
    const user = await sessionOfNewUser("pk");
    const headers = { "Content-Type": "application/json", ...(needsToken ? bearer(user.access_token) : {}) };
    const { ceremony } = await authenticationCeremony();
    await expectError(await call(path, { method: "POST", headers, body: "{not json" }), 400, "invalid_request");
    for (const body of [
      [],
      { ceremony: 5, credential: {} },
      { ceremony, credential: "x" },
      { ceremony, credential: { id: "abc", rawId: "abc", type: "public-key", response: { clientDataJSON: 5 } } },
      { ceremony, credential: { id: "a b", rawId: "a b", type: "public-key", response: {} } },
      { ceremony, credential: { id: "abc", rawId: "abc", type: "password", response: {} } },
    ]) {
      await expectError(await postJson(path, body, headers), 400, "invalid_request");
    }
    // A huge clientDataJSON or attestationObject: the body cap holds before anything is parsed.
    const huge = JSON.stringify({ ceremony, credential: { id: "abc", rawId: "abc", type: "public-key", response: { clientDataJSON: "A".repeat(MAX_BODY_BYTES), attestationObject: "A" } } });
    await expectError(await call(path, { method: "POST", headers, body: huge }), 413, "request_too_large");
    await expectError(await call(path, { method: "POST", headers: { ...headers, "Content-Type": "text/plain" }, body: "{}" }), 415, "unsupported_media_type");
  });

  it("answers 400 invalid_passkey to base64url that is not WebAuthn inside, and to a ceremony that is not one", async () => {
    const user = await sessionOfNewUser("pk");
    const { ceremony } = await registrationCeremony(user.access_token);
    const junk = { id: "abc", rawId: "abc", type: "public-key", response: { clientDataJSON: "e30", attestationObject: "AAAA" } };
    await expectError(await postJson("/auth/passkeys", { ceremony, credential: junk }, bearer(user.access_token)), 400, "invalid_passkey");
    const passkey = await SoftwarePasskey.make();
    const fresh = await registrationCeremony(user.access_token);
    const credential = await passkey.create(fresh.options);
    for (const forged of ["pk1.x.y", `${fresh.ceremony.slice(0, -4)}AAAA`, "not a ceremony"]) {
      await expectError(await postJson("/auth/passkeys", { ceremony: forged, credential }, bearer(user.access_token)), 400, "invalid_passkey");
    }
    expect((await counts(user.sub)).passkeys).toBe(0);
  });
});

describe("a passkey login that fails", () => {
  it("answers 401 invalid_credentials for a bad signature, another origin, another RP ID, no user verification", async () => {
    const { passkey, sub } = await userWithPasskey();
    const cases = [{ origin: "http://evil.test" }, { rpId: "evil.test" }, { userVerified: false }, { type: "webauthn.create" }];
    for (const tweaks of cases) await expectError(await loginWithPasskey(passkey, { tweaks }), 401, "invalid_credentials");
    // Another key, same credential id: the signature does not verify.
    const impostor = await SoftwarePasskey.make();
    Object.assign(impostor, { id: passkey.id, userHandle: passkey.userHandle });
    await expectError(await loginWithPasskey(impostor), 401, "invalid_credentials");
    expect(await eventsOf(sub, "login")).toEqual([]);
    // Only the registration's ceremony is spent: no refused login spent one.
    expect((await counts(sub)).spentCeremonies).toBe(1);
  });

  it("answers 401 for an unknown credential, a user handle naming nobody or another user, and no user handle, and writes nothing there", async () => {
    const { passkey, sub } = await userWithPasskey();
    const other = await userWithPasskey();
    const stranger = await SoftwarePasskey.make();
    stranger.userHandle = passkey.userHandle;
    await expectError(await loginWithPasskey(stranger), 401, "invalid_credentials");
    // This user's credential presented as another user's.
    await expectError(await loginWithPasskey(passkey, { tweaks: { userHandle: other.passkey.userHandle } }), 401, "invalid_credentials");
    const nobody = uniqueSub("nobody");
    await expectError(await loginWithPasskey(passkey, { tweaks: { userHandle: base64url(nobody) } }), 401, "invalid_credentials");
    for (const userHandle of [null, "", "not base64url!", base64url("has space")]) {
      await expectError(await loginWithPasskey(passkey, { tweaks: { userHandle } }), 401, "invalid_credentials");
    }
    expect(await counts(nobody)).toEqual({ passkeys: 0, spentCeremonies: 0 });
    expect(await counts(other.sub)).toEqual({ passkeys: 1, spentCeremonies: 1 });
    expect(await eventsOf(sub, "login")).toEqual([]);
    expect(await eventsOf(other.sub, "login")).toEqual([]);
  });

  it("leaves nothing stored for a user handle naming nobody: the object it named deletes its empty tables", async () => {
    const { passkey } = await userWithPasskey();
    const fresh = uniqueSub("fresh");
    const storageOf = (sub: string) =>
      runInDurableObject(userAuthStub(sub), (_instance, state) => ({
        tables: state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) <> '_cf_'").toArray().length,
        bytes: state.storage.sql.databaseSize,
      }));
    // What any call leaves in an object nobody used: its stores' empty tables.
    expect((await counts(fresh)).passkeys).toBe(0);
    const emptyTables = await storageOf(fresh);
    expect(emptyTables.tables).toBeGreaterThan(10);

    const nobody = uniqueSub("nobody");
    await expectError(await loginWithPasskey(passkey, { tweaks: { userHandle: base64url(nobody) } }), 401, "invalid_credentials");
    const left = await storageOf(nobody);
    expect(left.tables).toBe(0);
    expect(left.bytes).toBeLessThan(emptyTables.bytes / 4);
    // The object still answers afterwards, its tables back.
    expect(await counts(nobody)).toEqual({ passkeys: 0, spentCeremonies: 0 });
  });

  it("refuses a ceremony reused, of the wrong kind, expired, or forged", async () => {
    const { passkey, sub, access_token } = await userWithPasskey();
    const { ceremony, options } = await authenticationCeremony();
    const credential = await passkey.get(options);
    expect((await postJson("/auth/passkeys/login", { ceremony, credential })).status).toBe(200);
    await expectError(await postJson("/auth/passkeys/login", { ceremony, credential }), 401, "invalid_credentials");
    // The same ceremony with a new assertion (a higher counter) is spent just the same.
    await expectError(await postJson("/auth/passkeys/login", { ceremony, credential: await passkey.get(options) }), 401, "invalid_credentials");

    const registration = await registrationCeremony(access_token);
    const wrongKind = await passkey.get({ challenge: registration.options.challenge });
    await expectError(await postJson("/auth/passkeys/login", { ceremony: registration.ceremony, credential: wrongKind }), 401, "invalid_credentials");

    const expired = { ...newCeremony("authentication", null, Date.now()), expiresAt: Date.now() - 1 };
    const sealedExpired = await sealCeremony(await ring(), expired);
    await expectError(await postJson("/auth/passkeys/login", { ceremony: sealedExpired, credential: await passkey.get(expired) }), 401, "invalid_credentials");
    await expectError(await postJson("/auth/passkeys/login", { ceremony: "pk1.AAAA.AAAA", credential: await passkey.get(options) }), 401, "invalid_credentials");
    expect(await eventsOf(sub, "login")).toHaveLength(1);
  });

  it("opens exactly one session when one ceremony and assertion are sent twice at once", async () => {
    const { passkey, sub } = await userWithPasskey();
    const { ceremony, options } = await authenticationCeremony();
    const credential = await passkey.get(options);
    const responses = await Promise.all(Array.from({ length: 5 }, () => postJson("/auth/passkeys/login", { ceremony, credential })));
    expect(responses.map((response) => response.status).sort()).toEqual([200, 401, 401, 401, 401]);
    expect(await eventsOf(sub, "login")).toHaveLength(1);
  });

  it("counts each failure against the address: past LOGIN_MAX_FAILURES_PER_IP even a good passkey gets 429, and login_failed names the method", async () => {
    const { passkey } = await userWithPasskey();
    const ip = uniqueIp();
    const { options } = await authenticationCeremony();
    for (let i = 0; i < 50; i++) {
      const response = await postJson("/auth/passkeys/login", { ceremony: "pk1.AAAA.AAAA", credential: await passkey.get(options) }, fromIp(ip));
      expect(response.status).toBe(401);
    }
    const refused = await loginWithPasskey(passkey, { headers: fromIp(ip) });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await loginWithPasskey(passkey, { headers: fromIp(uniqueIp()) })).status).toBe(200);
    const failures = await eventsFrom(ip, "login_failed");
    expect(failures).toHaveLength(50);
    expect(failures[0]).toMatchObject({ sub: null, detail: { method: "passkey", reason: "ceremony_not_a_ceremony" } });
  });

  it("a success does not count against the address", async () => {
    const { passkey } = await userWithPasskey();
    const ip = uniqueIp();
    for (let i = 0; i < 55; i++) expect((await loginWithPasskey(passkey, { headers: fromIp(ip) })).status).toBe(200);
  });
});

describe("what one client can make a user's object keep", () => {
  it("drops spent ceremonies once they expire, and refuses ceremonies while 100 unexpired ones are kept", async () => {
    const { passkey, sub, access_token } = await userWithPasskey();
    expect(await counts(sub)).toEqual({ passkeys: 1, spentCeremonies: 1 });
    expect((await loginWithPasskey(passkey)).status).toBe(200);
    expect((await counts(sub)).spentCeremonies).toBe(2);
    // Five minutes later, both have expired: the next spend drops them.
    await runInDurableObject(userAuthStub(sub), (_instance, state) => state.storage.sql.exec("UPDATE spent_ceremonies SET expires_at = ?", Date.now() - 1));
    expect((await loginWithPasskey(passkey)).status).toBe(200);
    expect((await counts(sub)).spentCeremonies).toBe(1);

    // Fill up to the bound: nothing is forgotten early, so further ceremonies are refused.
    await runInDurableObject(userAuthStub(sub), (_instance, state) => {
      for (let i = 1; i < MAX_SPENT_CEREMONIES; i++) state.storage.sql.exec("INSERT INTO spent_ceremonies (id, expires_at) VALUES (?, ?)", `filler-${i}`, Date.now() + 60_000);
    });
    expect((await counts(sub)).spentCeremonies).toBe(MAX_SPENT_CEREMONIES);
    await expectError(await loginWithPasskey(passkey), 401, "invalid_credentials");
    await expectError(await addPasskey(access_token, await SoftwarePasskey.make()), 400, "invalid_passkey");
    expect(await counts(sub)).toEqual({ passkeys: 1, spentCeremonies: MAX_SPENT_CEREMONIES });
  });

  it("asking for login options stores nothing anywhere: the ceremony is the client's", async () => {
    const sub = uniqueSub("pk");
    for (let i = 0; i < 20; i++) await authenticationCeremony();
    expect(await counts(sub)).toEqual({ passkeys: 0, spentCeremonies: 0 });
  });
});
