// Signing up and in with a username and password.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { SessionInfo } from "../options.js";
import { sessionInfo } from "../responses.js";
import type { RegisterResponse } from "../../wire.js";

/** `POST /auth/register`; does not log in. */
export async function register(client: ClientContext, username: string, password: string): Promise<{ userId: string }> {
  const response = await client.transport.post("/auth/register", { username, password }, false);
  if (response.status !== 201) throw await errorFromResponse(response);
  const body = (await response.json()) as RegisterResponse;
  return { userId: body.user_id };
}

/** `POST /auth/login`: opens a session and keeps it where `storage` says. */
export async function login(client: ClientContext, username: string, password: string): Promise<SessionInfo> {
  const sentAt = client.env.now();
  const response = await client.transport.post("/auth/login", { username, password });
  if (!response.ok) throw await errorFromResponse(response);
  return sessionInfo(await client.state.accept(response, sentAt, "login"));
}
