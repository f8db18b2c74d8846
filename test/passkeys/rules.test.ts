import { describe, expect, it } from "vitest";
import { decideAdd, decideLogin, MAX_PASSKEYS_PER_USER, MAX_SPENT_CEREMONIES, signCounterVerdict } from "../../src/passkeys/passkey-rules";
import { userOfHandle } from "../../src/passkeys/relying-party";
import { sessionOpening } from "../../src/sessions/sign-in";

// The pure parts of passkeys: the sign counter rule, the limits, the user handle, the sign-in row.

describe("the sign counter rule", () => {
  it.each([
    [0, 0, { ok: true, stored: 0 }],
    [0, 1, { ok: true, stored: 1 }],
    [5, 6, { ok: true, stored: 6 }],
    // An authenticator that does not count reports 0: it passes, and the stored count stays.
    [5, 0, { ok: true, stored: 5 }],
    [5, 5, { ok: false }],
    [5, 4, { ok: false }],
    [1, 1, { ok: false }],
  ])("stored %i, presented %i: %j", (stored, presented, verdict) => {
    expect(signCounterVerdict(stored, presented)).toEqual(verdict);
  });
});

describe("decideAdd and decideLogin", () => {
  const fresh = { ceremonySpent: false, spentCeremonies: 0, exists: false, passkeys: 0 };
  it("let a new passkey in until the 20th, never a spent ceremony or a credential already stored", () => {
    expect(decideAdd(fresh)).toBeNull();
    expect(decideAdd({ ...fresh, passkeys: MAX_PASSKEYS_PER_USER - 1 })).toBeNull();
    expect(decideAdd({ ...fresh, passkeys: MAX_PASSKEYS_PER_USER })).toBe("limit");
    expect(decideAdd({ ...fresh, ceremonySpent: true, passkeys: MAX_PASSKEYS_PER_USER })).toBe("ceremony_spent");
    expect(decideAdd({ ...fresh, exists: true })).toBe("already_registered");
    expect(decideAdd({ ...fresh, spentCeremonies: MAX_SPENT_CEREMONIES })).toBe("too_many_ceremonies");
  });

  it("open a session for an unspent ceremony whose counter rose", () => {
    const login = { ceremonySpent: false, spentCeremonies: 3, storedCounter: 4, presentedCounter: 5 };
    expect(decideLogin(login)).toEqual({ ok: true, counter: 5 });
    expect(decideLogin({ ...login, ceremonySpent: true })).toEqual({ ok: false, reason: "ceremony_spent" });
    expect(decideLogin({ ...login, presentedCounter: 4 })).toEqual({ ok: false, reason: "counter_regressed" });
    expect(decideLogin({ ...login, spentCeremonies: MAX_SPENT_CEREMONIES })).toEqual({ ok: false, reason: "too_many_ceremonies" });
  });
});

describe("userOfHandle", () => {
  it("reads the user id the options' user.id carried, and nothing that is not one", () => {
    expect(userOfHandle(Buffer.from("user-1").toString("base64url"))).toBe("user-1");
    expect(userOfHandle(Buffer.from("with space").toString("base64url"))).toBeNull();
    expect(userOfHandle(Buffer.from([0xff, 0xfe]).toString("base64url"))).toBeNull();
    expect(userOfHandle(Buffer.from("x".repeat(256)).toString("base64url"))).toBeNull();
    expect(userOfHandle("dXNlci0x=")).toBeNull();
    // A last character whose unused bits are set: not the one spelling of the bytes.
    expect(userOfHandle("YWI")).toBe("ab");
    expect(userOfHandle("YWJ")).toBeNull();
    expect(userOfHandle("")).toBeNull();
  });
});

describe("the passkey sign-in method", () => {
  it("opens a session with amr hwk user and a login event with method passkey", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(sessionOpening({ method: "passkey", sub: "u1" }, now)).toEqual({
      sub: "u1",
      claims: {},
      amr: ["hwk", "user"],
      authTime: now,
      event: { type: "login", detail: { method: "passkey" } },
    });
  });
});
