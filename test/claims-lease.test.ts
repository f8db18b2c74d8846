import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BINDING_URL, claimsDue, claimsHookOf, splitClaims } from "../src/sessions/claims-lease";

// When a session's claims are due (pure, `now` passed in), and where the hook is, read from an env.

describe("claimsDue", () => {
  const TTL = 300;

  it("is due once the TTL has passed since the hook was last asked, not a millisecond before", () => {
    expect(claimsDue({ claimsCheckedAt: 1_000 }, TTL, 1_000 + 299_999)).toBe(false);
    expect(claimsDue({ claimsCheckedAt: 1_000 }, TTL, 1_000 + 300_000)).toBe(true);
  });

  it("is due for a session opened before the check was stored (0), and not for one asked in the future of a clock that stepped back", () => {
    expect(claimsDue({ claimsCheckedAt: 0 }, TTL, Date.now())).toBe(true);
    expect(claimsDue({ claimsCheckedAt: 10_000 }, TTL, 5_000)).toBe(false);
  });
});

describe("claimsHookOf", () => {
  it("is null without CLAIMS_HOOK_URL or a CLAIMS binding", () => {
    expect(claimsHookOf({ ...env })).toBeNull();
  });

  it("takes CLAIMS_HOOK_URL and CLAIMS_TTL_SECONDS", () => {
    const hook = claimsHookOf({ ...env, CLAIMS_HOOK_URL: "https://hooks.example.com/claims?tenant=a", CLAIMS_TTL_SECONDS: "60" });
    expect(hook).toEqual({ url: new URL("https://hooks.example.com/claims?tenant=a"), binding: null, ttlSeconds: 60 });
  });

  it("takes a service binding CLAIMS, with the URL's path when there is one, else /", () => {
    const binding = { fetch: async () => new Response() } as unknown as Fetcher;
    expect(claimsHookOf({ ...env, CLAIMS: binding } as Env)).toEqual({ url: new URL(BINDING_URL), binding, ttlSeconds: 300 });
    expect(new URL(BINDING_URL).pathname).toBe("/");
    expect(claimsHookOf({ ...env, CLAIMS: binding, CLAIMS_HOOK_URL: "https://x.example/h" } as Env)?.url.href).toBe("https://x.example/h");
  });

  it("refuses a CLAIMS that is not a service binding, naming it", () => {
    expect(() => claimsHookOf({ ...env, CLAIMS: "https://claims.example.com" } as unknown as Env)).toThrow(/^server_misconfigured: CLAIMS must be a service binding/);
  });
});

describe("splitClaims", () => {
  it("parts the custom claims from those the gateway keeps among them", () => {
    expect(splitClaims({ idp: "google", role: "member", teams: ["a"] })).toEqual({ custom: { role: "member", teams: ["a"] }, gateway: { idp: "google" } });
    expect(splitClaims({})).toEqual({ custom: {}, gateway: {} });
  });
});
