import { describe, expect, it } from "vitest";
import { AMR_VALUES, GATEWAY_CLAIMS } from "../src/tokens/authentication-claims";
import { REGISTERED_CLAIMS } from "../src/tokens/access";
import { SIGN_IN_METHODS, sessionOpening } from "../src/sessions/sign-in";

// How each way in describes the session it opens: pure, `now` passed in.
const NOW = Date.UTC(2026, 0, 1, 12);

describe("sessionOpening", () => {
  it("opens a password login's session with amr pwd, auth_time now, no custom claims, and a login event naming the method", () => {
    expect(sessionOpening({ method: "password", sub: "u1" }, NOW)).toEqual({
      sub: "u1",
      claims: {},
      amr: ["pwd"],
      authTime: NOW,
      event: { type: "login", detail: { method: "password" } },
    });
  });

  it("opens an admin session with the back end's claims, amr adm, and a session_created event without detail", () => {
    expect(sessionOpening({ method: "admin", sub: "u1", claims: { role: "editor" } }, NOW)).toEqual({
      sub: "u1",
      claims: { role: "editor" },
      amr: ["adm"],
      authTime: NOW,
      event: { type: "session_created", detail: null },
    });
  });

  it("opens a federated sign-in's session with amr fed, the provider as the idp claim, and a login event naming the method and provider", () => {
    expect(sessionOpening({ method: "oidc", sub: "u1", provider: "google" }, NOW)).toEqual({
      sub: "u1",
      claims: { idp: "google" },
      amr: ["fed"],
      authTime: NOW,
      event: { type: "login", detail: { method: "oidc", provider: "google" } },
    });
  });

  it("takes the admin body's own amr when it gives one", () => {
    expect(sessionOpening({ method: "admin", sub: "u1", claims: {}, amr: ["hwk", "user"] }, NOW).amr).toEqual(["hwk", "user"]);
  });

  it("hands out copies: changing one opening cannot change the methods' table or another opening", () => {
    const first = sessionOpening({ method: "password", sub: "u1" }, NOW);
    first.amr.push("mfa");
    (first.event.detail as Record<string, unknown>).method = "changed";
    expect(SIGN_IN_METHODS.password).toEqual({ amr: ["pwd"], event: "login", detail: { method: "password" } });
    expect(sessionOpening({ method: "password", sub: "u2" }, NOW)).toMatchObject({ amr: ["pwd"], event: { detail: { method: "password" } } });
  });
});

describe("the claims every way in sets", () => {
  it("uses only RFC 8176 values, plus adm for the admin route, in every method's amr", () => {
    expect([...AMR_VALUES].sort()).toEqual(["adm", "fed", "hwk", "mfa", "otp", "pwd", "user"]);
    for (const method of Object.values(SIGN_IN_METHODS)) {
      for (const value of method.amr) expect(AMR_VALUES).toContain(value);
    }
  });

  it("reserves amr, auth_time and idp besides the registered claims and cnf", () => {
    expect(GATEWAY_CLAIMS).toEqual([...REGISTERED_CLAIMS, "cnf", "amr", "auth_time", "idp"]);
  });
});
