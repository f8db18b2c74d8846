// Signing up and in with a username and password.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { LoginResult } from "../options.js";
import type { RegisterResponse } from "../../wire.js";
import { loginResult } from "./mfa.js";

/** `POST /auth/register`; does not log in. */
export async function register(client: ClientContext, username: string, password: string): Promise<{ userId: string }> {
  const response = await client.transport.post("/auth/register", { username, password }, false);
  if (response.status !== 201) throw await errorFromResponse(response);
  const body = (await response.json()) as RegisterResponse;
  return { userId: body.user_id };
}

/**
 * `POST /auth/login`: opens a session and keeps it where `storage` says, or, for a user with TOTP
 * on, resolves to `{ mfaRequired: true }`: `verifyMfa(code)` finishes the login.
 */
export async function login(client: ClientContext, username: string, password: string): Promise<LoginResult> {
  const sentAt = client.env.now();
  return loginResult(client, await client.transport.post("/auth/login", { username, password }), sentAt);
}
