// Accounts with an address, signed in, and the messages the gateway sent them: the account
// lifecycle tests' helpers. Messages are read from the project's webhook receiver
// (test/webhook-receiver.mjs), so the tests that read them run in the webhooks project.
import { expect } from "vitest";
import type { RegisterResponse, TokenResponse, UserMessageData } from "../../src/wire";
import { bearer, call, drainEvents, login, PASSWORD, postJson, uniqueUsername, type Vars } from "../helpers";
import { deliveriesAbout } from "../webhook-receiver-client";

/** A fresh address of the test's own, as a user would type it (mixed case). */
export function uniqueEmail(label = "User"): string {
  return `${label}.${crypto.randomUUID().slice(0, 8)}@Example.COM`;
}

/** Registers an account with `email` (201 expected) and signs it in. */
export async function accountWithEmail(email: string | null = uniqueEmail(), password = PASSWORD, headers: Record<string, string> = {}) {
  const username = uniqueUsername("life");
  const response = await postJson("/auth/register", { username, password, ...(email === null ? {} : { email }) }, headers);
  expect(response.status, await response.clone().text()).toBe(201);
  const { user_id: userId } = (await response.json()) as RegisterResponse;
  const pair = await signIn(username, password);
  return { username, userId, email, password, pair };
}

/** Logs in (200 expected) and returns the pair. */
export async function signIn(username: string, password: string): Promise<TokenResponse> {
  const response = await login(username, password);
  expect(response.status).toBe(200);
  return response.json();
}

/** The messages of `type` that reached the receiver for a user, oldest first (after the user's outbox drained). */
export async function messagesOf(userId: string, type: "message.email_verification" | "message.password_reset"): Promise<UserMessageData[]> {
  await drainEvents(userId);
  return (await deliveriesAbout(userId)).filter((delivery) => delivery.payload.type === type).map((delivery) => delivery.payload.data as UserMessageData);
}

/** Waits until `count` messages of `type` reached the receiver (forgot-password sends after answering). */
export async function awaitMessages(userId: string, type: "message.email_verification" | "message.password_reset", count: number): Promise<UserMessageData[]> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const messages = await messagesOf(userId, type);
    if (messages.length >= count) return messages;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${count} ${type} messages for ${userId} never arrived`);
}

/** POST /auth/email/verification as the pair's user. */
export function requestCode(accessToken: string) {
  return call("/auth/email/verification", { method: "POST", headers: bearer(accessToken) });
}

/** POST /auth/email/verify with `code`. */
export function verify(accessToken: string, code: unknown) {
  return postJson("/auth/email/verify", { code }, bearer(accessToken));
}

/** An account whose address is verified (through the real code), signed in. */
export async function verifiedAccount(email = uniqueEmail()) {
  const account = await accountWithEmail(email);
  expect((await requestCode(account.pair.access_token)).status).toBe(202);
  const [message] = await messagesOf(account.userId, "message.email_verification");
  expect((await verify(account.pair.access_token, message!.code)).status).toBe(204);
  return account;
}

/** POST /auth/password/forgot. */
export function forgot(body: unknown, headers: Record<string, string> = {}, vars?: Vars) {
  return postJson("/auth/password/forgot", body, headers, vars);
}

/** POST /auth/password/reset. */
export function reset(body: unknown, vars?: Vars) {
  return postJson("/auth/password/reset", body, {}, vars);
}

/** A reset token the gateway sent to a verified account (asked for by username). */
export async function resetTokenOf(account: { username: string; userId: string }, already = 0): Promise<string> {
  expect((await forgot({ username: account.username })).status).toBe(202);
  const messages = await awaitMessages(account.userId, "message.password_reset", already + 1);
  return messages.at(-1)!.token!;
}
