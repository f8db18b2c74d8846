// The account lifecycle: the account itself, proving its address, forgotten and changed
// passwords, and deleting it.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { AccountResponse } from "../../wire/index.js";

/** `GET /auth/account`: who the user is and how they can sign in. */
export async function account(client: ClientContext): Promise<AccountResponse> {
  const response = await client.fetch("/auth/account");
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as AccountResponse;
}

/** `POST /auth/email/verification`: a 6-digit code goes to the account's address. */
export async function requestEmailVerification(client: ClientContext): Promise<void> {
  const response = await client.fetch("/auth/email/verification", { method: "POST" });
  if (response.status !== 202) throw await errorFromResponse(response);
}

/** `POST /auth/email/verify` with the code the user received. */
export async function verifyEmail(client: ClientContext, code: string): Promise<void> {
  const response = await client.fetch("/auth/email/verify", json("POST", { code }));
  if (response.status !== 204) throw await errorFromResponse(response);
}

/** `POST /auth/password/forgot`: the gateway answers the same whether or not the account exists; a reset link goes to a verified address. */
export async function forgotPassword(client: ClientContext, who: { username: string } | { email: string }): Promise<void> {
  const response = await client.transport.post("/auth/password/forgot", who, false);
  if (response.status !== 202) throw await errorFromResponse(response);
}

/** `POST /auth/password/reset` with the token of the reset link (and the TOTP code when the account has one). Every session of the user ends. */
export async function resetPassword(client: ClientContext, token: string, password: string, code?: string): Promise<void> {
  const response = await client.transport.post("/auth/password/reset", { token, password, ...(code === undefined ? {} : { code }) }, false);
  if (response.status !== 204) throw await errorFromResponse(response);
}

/** `POST /auth/password`: every other session of the user ends; this one stays. */
export async function changePassword(client: ClientContext, currentPassword: string, newPassword: string): Promise<void> {
  const response = await client.fetch("/auth/password", json("POST", { current_password: currentPassword, new_password: newPassword }));
  if (response.status !== 204) throw await errorFromResponse(response);
}

/**
 * `DELETE /auth/account`: with the password, or without one for an account that has none (then
 * the session must be signed in within 5 minutes). The session is forgotten here and in the
 * other tabs.
 */
export async function deleteAccount(client: ClientContext, password?: string): Promise<void> {
  const response = await client.fetch("/auth/account", password === undefined ? { method: "DELETE" } : json("DELETE", { password }));
  if (response.status !== 204) throw await errorFromResponse(response);
  client.state.end("logged_out", false);
}

function json(method: string, body: unknown): RequestInit {
  return { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
}
