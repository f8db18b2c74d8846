import { describe, expect, it } from "vitest";
import { AuthClientError } from "../../src/client";
import { clientFor, origin } from "./clients";
import { FakeGateway } from "./fake-gateway";

describe("AuthClient: the login step that asks for a code", () => {
  it("resolves login to { mfaRequired: true } without a session, then verifyMfa opens it", async () => {
    const gateway = new FakeGateway();
    gateway.mfaCode = "123456";
    const client = clientFor(gateway);
    const events: string[] = [];
    client.subscribe((event) => events.push(event.type));
    expect(await client.login("bob", "right")).toEqual({ mfaRequired: true });
    expect(client.session).toBeNull();
    expect(events).toEqual([]);
    const session = await client.verifyMfa("123456");
    expect(session).toEqual(client.session);
    expect(events).toEqual(["login"]);
    expect(JSON.parse(gateway.calls("/auth/mfa/verify")[0]!.body)).toEqual({ mfa_token: expect.stringMatching(/^mt\./), code: "123456" });
    expect((await client.fetch("/api/x")).status).toBe(200);
  });

  it("resolves login to the session with mfaRequired false when the user has no second factor", async () => {
    const client = clientFor(new FakeGateway());
    const result = await client.login("bob", "right");
    expect(result).toEqual({ mfaRequired: false, ...client.session });
  });

  it("keeps the step open after a wrong code, and closes it on invalid_mfa_token", async () => {
    const gateway = new FakeGateway();
    gateway.mfaCode = "123456";
    const client = clientFor(gateway);
    await client.login("bob", "right");
    await expect(client.verifyMfa("000000")).rejects.toMatchObject({ code: "invalid_code", status: 401 });
    expect((await client.verifyMfa("123456")).sessionId).toBeTruthy();
    await expect(client.verifyMfa("123456")).rejects.toMatchObject({ code: "invalid_mfa_token" });
    expect(gateway.calls("/auth/mfa/verify")).toHaveLength(2);
  });

  it("signs the verify with the login's DPoP key, so the session is bound to it", async () => {
    const gateway = new FakeGateway();
    gateway.mfaCode = "123456";
    const client = clientFor(gateway, { storage: "localStorage", dpop: true }, origin());
    await client.login("bob", "right");
    const session = await client.verifyMfa("123456");
    expect(session.tokenType).toBe("DPoP");
    const [login] = gateway.calls("/auth/login");
    const [verify] = gateway.calls("/auth/mfa/verify");
    expect(verify!.proof).toMatchObject({ jkt: (login!.proof as { jkt: string }).jkt });
    expect((await client.fetch("/api/x")).status).toBe(200);
  });

  it("enrols, confirms, regenerates and disables TOTP with the access token", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway);
    await client.login("bob", "right");
    expect(await client.enrollTotp()).toEqual({ secret: "JBSWY3DPEHPK3PXP", otpauthUri: "otpauth://totp/test:bob?secret=JBSWY3DPEHPK3PXP" });
    expect(await client.confirmTotp("123456")).toEqual(["aaaa-bbbb-cccc"]);
    expect(await client.regenerateRecoveryCodes("123456")).toEqual(["aaaa-bbbb-cccc"]);
    await client.disableTotp("123456");
    const error = await client.confirmTotp("000000").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ code: "invalid_code", status: 400 });
    for (const path of ["/auth/mfa/totp", "/auth/mfa/totp/confirm", "/auth/mfa/recovery-codes"]) expect(gateway.calls(path)[0]!.authorization).toMatch(/^Bearer at\./);
  });
});
