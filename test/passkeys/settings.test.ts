import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config";
import { bearer, call, expectError, postJson, sessionOfNewUser } from "../helpers";

// WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME and WEBAUTHN_ORIGINS: read as the contract says, and a bad
// value makes every request answer 503 naming the variable, as every other setting does.

function webauthnOf(vars: Partial<Record<keyof Env, string>>) {
  const result = parseConfig(vars as unknown as Env);
  if (!result.ok) throw new Error(`unexpected bad config: ${result.problem}`);
  return result.config.webauthn;
}

describe("the passkey settings", () => {
  it("default to localhost, edge-auth-gateway and no extra origins (the gateway's own plus ALLOWED_ORIGINS)", () => {
    expect(webauthnOf({})).toEqual({ rpId: "localhost", rpName: "edge-auth-gateway", origins: [] });
  });

  it("read a domain, a name and a list of origins on that domain", () => {
    expect(
      webauthnOf({ WEBAUTHN_RP_ID: "Example.com", WEBAUTHN_RP_NAME: "Example", WEBAUTHN_ORIGINS: "https://example.com, https://app.example.com/" }),
    ).toEqual({ rpId: "example.com", rpName: "Example", origins: ["https://example.com", "https://app.example.com"] });
  });

  it.each([
    ["WEBAUTHN_RP_ID", "127.0.0.1"],
    ["WEBAUTHN_RP_ID", "https://example.com"],
    ["WEBAUTHN_RP_ID", "example.com:8787"],
    ["WEBAUTHN_RP_ID", "example.com/path"],
    ["WEBAUTHN_RP_ID", "-bad-.example"],
    ["WEBAUTHN_RP_NAME", "x".repeat(65)],
    ["WEBAUTHN_ORIGINS", "example.com"],
    ["WEBAUTHN_ORIGINS", "*"],
    ["WEBAUTHN_ORIGINS", "http://localhost:8787/demo"],
    // An origin on another domain than the RP ID could never use its passkeys.
    ["WEBAUTHN_ORIGINS", "http://127.0.0.1:8787"],
  ])("%s=%j makes every request answer 503 naming it", async (name, value) => {
    for (const path of ["/.well-known/jwks.json", "/auth/passkeys/authentication"]) {
      const response = await call(path, { method: path.startsWith("/auth") ? "POST" : "GET" }, { [name]: value });
      expect(await expectError(response, 503, "server_misconfigured")).toContain(name);
    }
  });
});

describe("WEBAUTHN_RP_NAME", () => {
  it("is the issuer of TOTP enrolments as well as the name passkeys show", async () => {
    const user = await sessionOfNewUser("rp-name");
    const response = await postJson("/auth/mfa/totp", {}, bearer(user.access_token), { WEBAUTHN_RP_NAME: "Example Co" });
    expect(response.status).toBe(201);
    const { otpauth_uri } = (await response.json()) as { otpauth_uri: string };
    expect(new URL(otpauth_uri).searchParams.get("issuer")).toBe("Example Co");
    const options = await postJson("/auth/passkeys/registration", {}, bearer(user.access_token), { WEBAUTHN_RP_NAME: "Example Co" });
    expect(((await options.json()) as { options: { rp: { name: string } } }).options.rp.name).toBe("Example Co");
  });
});
