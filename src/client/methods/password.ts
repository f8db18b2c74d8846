// Signing up and in with a username and password.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { LoginResult } from "../options.js";
import type { RegisterResponse } from "../../wire/index.js";
import { loginResult } from "./mfa.js";

/**
 * `POST /auth/register`, with an optional e-mail address; does not log in. `breached` is true when
 * the gateway (`PWNED_PASSWORDS=warn`) found the password in a known breach: suggest another.
 */
export async function register(client: ClientContext, username: string, password: string, options: { email?: string } = {}): Promise<{ userId: string; breached: boolean }> {
  const body = { username, password, ...(options.email === undefined ? {} : { email: options.email }) };
  const response = await client.transport.post("/auth/register", body, false);
  if (response.status !== 201) throw await errorFromResponse(response);
  const answer = (await response.json()) as RegisterResponse;
  return { userId: answer.user_id, breached: answer.breached === true };
}

/**
 * `POST /auth/login`: opens a session and keeps it where `storage` says, or, for a user with TOTP
 * on, resolves to `{ mfaRequired: true }`: `verifyMfa(code)` finishes the login.
 */
export async function login(client: ClientContext, username: string, password: string): Promise<LoginResult> {
  const sentAt = client.env.now();
  return loginResult(client, await client.transport.post("/auth/login", { username, password }), sentAt);
}
