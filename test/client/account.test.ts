import { describe, expect, it } from "vitest";
import { AuthClientError } from "../../src/client";
import { clientFor, loggedIn } from "./clients";
import { FakeGateway } from "./fake-gateway";

// The client's account calls against the fake gateway: what each sends, and what the client does
// with the answer (errors with the gateway's code, the session forgotten after a deletion).

describe("the account calls", () => {
  it("register sends the address and says when the gateway found the password breached", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway);
    expect(await client.register("bob", "breached", { email: "bob@example.com" })).toEqual({ userId: "u1", breached: true });
    expect(await client.register("bob", "fine password")).toEqual({ userId: "u1", breached: false });
    const [first, second] = gateway.calls("/auth/register");
    expect(JSON.parse(first!.body)).toEqual({ username: "bob", password: "breached", email: "bob@example.com" });
    expect(JSON.parse(second!.body)).toEqual({ username: "bob", password: "fine password" });
  });

  it("forgotPassword and resetPassword need no session and send no token; a used token is refused with invalid_grant", async () => {
    const gateway = new FakeGateway();
    const client = clientFor(gateway);
    await client.forgotPassword({ email: "bob@example.com" });
    expect(gateway.calls("/auth/password/forgot")[0]).toMatchObject({ authorization: null, body: JSON.stringify({ email: "bob@example.com" }) });
    await client.resetPassword("good-token", "a new password");
    expect(JSON.parse(gateway.calls("/auth/password/reset")[0]!.body)).toEqual({ token: "good-token", password: "a new password" });
    await client.resetPassword("good-token", "a new password", "123456").then(
      () => expect.unreachable(),
      (error) => expect(error).toMatchObject({ code: "invalid_grant", status: 400 }),
    );
    expect(JSON.parse(gateway.calls("/auth/password/reset")[1]!.body)).toEqual({ token: "good-token", password: "a new password", code: "123456" });
  });

  it("requestEmailVerification and verifyEmail send the access token; a wrong code is an AuthClientError invalid_code", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await client.requestEmailVerification();
    expect(gateway.calls("/auth/email/verification")[0]!.authorization).toMatch(/^Bearer at\./);
    const wrong = await client.verifyEmail("000000").catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(AuthClientError);
    expect(wrong).toMatchObject({ code: "invalid_code", status: 400 });
    await client.verifyEmail("123456");
    expect((await client.account()).email_verified).toBe(true);
  });

  it("changePassword keeps this session; a wrong current password is invalid_credentials", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await expect(client.changePassword("wrong", "a new password")).rejects.toMatchObject({ code: "invalid_credentials", status: 401 });
    await client.changePassword("right", "a new password");
    expect(JSON.parse(gateway.calls("/auth/password").at(-1)!.body)).toEqual({ current_password: "right", new_password: "a new password" });
    expect(client.session).not.toBeNull();
    expect((await client.fetch("/api/orders")).status).toBe(200);
  });

  it("deleteAccount forgets the session once the gateway deleted the account, and keeps it when refused", async () => {
    const gateway = new FakeGateway();
    const client = await loggedIn(gateway);
    await expect(client.deleteAccount("wrong")).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(client.session).not.toBeNull();
    await client.deleteAccount("right");
    expect(client.session).toBeNull();
    const call = gateway.calls("/auth/account").at(-1)!;
    expect(call).toMatchObject({ method: "DELETE", body: JSON.stringify({ password: "right" }) });
    await expect(client.account()).rejects.toMatchObject({ code: "logged_out" });
  });
});
