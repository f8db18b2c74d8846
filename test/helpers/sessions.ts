// Opening sessions and accounts, and reading token responses.
import { expect } from "vitest";
import type { RegisterResponse, TokenResponse } from "../../src/wire";
import { ADMIN_TOKEN, PASSWORD, postJson, register, type Vars } from "./requests";
import { uniqueSub, uniqueUsername } from "./unique";

export type { TokenResponse };

/** Opens a session through the admin route and returns the token pair. */
export async function openSession(sub: string, claims?: Record<string, unknown>, vars?: Vars): Promise<TokenResponse> {
  const response = await postJson("/auth/admin/sessions", { sub, claims }, { Authorization: `Bearer ${ADMIN_TOKEN}` }, vars);
  if (response.status !== 201) throw new Error(`open session: ${response.status} ${await response.text()}`);
  return response.json();
}

/** A session of a user of its own (`label-<uuid>`): its `sub` and token pair. */
export async function sessionOfNewUser(label = "user"): Promise<TokenResponse & { sub: string }> {
  const sub = uniqueSub(label);
  return { sub, ...(await openSession(sub)) };
}

/** The token pair of a 200 answer (asserting the 200). */
export async function pairOf(response: Response): Promise<TokenResponse> {
  expect(response.status).toBe(200);
  return response.json();
}

/** Registers a user (expecting 201) and returns its username and user id. */
export async function registerUser(username = uniqueUsername(), password = PASSWORD): Promise<{ username: string; userId: string }> {
  const response = await register(username, password);
  expect(response.status).toBe(201);
  return { username, userId: ((await response.json()) as RegisterResponse).user_id };
}
