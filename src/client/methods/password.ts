// Signing up and in with a username and password.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { SessionInfo } from "../options.js";
import { sessionInfo } from "../responses.js";
import type { RegisterResponse } from "../../wire.js";

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

/** `POST /auth/login`: opens a session and keeps it where `storage` says. */
export async function login(client: ClientContext, username: string, password: string): Promise<SessionInfo> {
  const sentAt = client.env.now();
  const response = await client.transport.post("/auth/login", { username, password });
  if (!response.ok) throw await errorFromResponse(response);
  return sessionInfo(await client.state.accept(response, sentAt, "login"));
}
