import { describe, expect, it } from "vitest";
import { addPasskey, bearer, call, expectError, loginWithPasskey, pairOf, sessionOfNewUser, SoftwarePasskey } from "../helpers";

// Passkeys in the account: GET /auth/account counts them (from the user's object), and deleting
// the account takes them with it; a passkey sign-in is a fresh proof for deleting an account that
// has no password.

describe("passkeys and the account", () => {
  it("are counted in GET /auth/account, and gone with the account, which a fresh passkey sign-in may delete", async () => {
    const user = await sessionOfNewUser("pk-account");
    const [first, second] = [await SoftwarePasskey.make(), await SoftwarePasskey.make()];
    await addPasskey(user.access_token, first);
    await addPasskey(user.access_token, second);
    const account = await call("/auth/account", { headers: bearer(user.access_token) });
    expect(account.status).toBe(200);
    expect(await account.json()).toMatchObject({ user_id: user.sub, passkeys: 2 });

    // No password: a session signed in within five minutes deletes it, and a passkey sign-in is one.
    const signedIn = await pairOf(await loginWithPasskey(first));
    expect((await call("/auth/account", { method: "DELETE", headers: bearer(signedIn.access_token) })).status).toBe(204);
    await expectError(await loginWithPasskey(first), 401, "invalid_credentials");
    await expectError(await loginWithPasskey(second), 401, "invalid_credentials");
  });
});
