import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf } from "../http/body";
import { clientInfo, type AppEnv } from "../http/context";
import { checkPasswordAsLogin, wrongPassword } from "../http/current-password";
import { Email, NewPassword, PresentedPassword, Username } from "../http/account-fields";
import { requireSecondFactorForReset } from "../http/second-factor";
import { rule } from "../http/validation";
import { findUserByEmail, findUserById, findUserByUsername, normalizeUsername, replacePasswordHash, setPasswordHash } from "../db/users";
import { requireD1 } from "../db/unavailable";
import { AuthError, invalidRequest } from "../errors/auth-error";
import { requireMessageDelivery } from "../events/webhook-settings";
import { screenNewPassword } from "../accounts/breached-passwords";
import { hashPassword } from "../accounts/passwords";
import { countRegistration } from "../accounts/registration-limit";
import { parseOneTimeSecret } from "../tokens/one-time-secrets";
import { userAuthFor, userAuthOfToken, withTarget } from "../sessions/lookup";

/**
 * Passwords of the built-in login: forgot (a reset link to the account's verified address),
 * reset (with the link's token), and change (signed in, with the current password). The hash
 * lives in D1; the reset tokens, and the sessions a new password revokes, in the user's object.
 */
export const passwordRoutes = new Hono<AppEnv>();

const forgotBody = bodyOf(z.object({ username: z.optional(Username), email: z.optional(Email) }));

passwordRoutes.post("/password/forgot", forgotBody, async function forgotPassword(c) {
  const { username, email } = c.req.valid("json");
  if ((username === undefined) === (email === undefined)) throw invalidRequest("Send exactly one of username or email.");
  requireMessageDelivery(c.get("config"));
  await countRegistration(c.env, clientInfo(c).ip, "Too many password reset requests from this address.");
  const user = username !== undefined ? await findUserByUsername(c.env.DB, normalizeUsername(username)) : await findUserByEmail(c.env.DB, email!, { verifiedOnly: true });
  // The same answer at the same moment whatever was found: the token is made and sent after the
  // answer, so neither its content nor its timing tells whether the account exists or has a
  // verified address.
  if (user !== null && user.email_verified === 1 && user.email !== null) c.executionCtx.waitUntil(sendResetToken(c.env, user.id, user.email));
  return c.body(null, 202);
});

async function sendResetToken(env: Env, sub: string, email: string): Promise<void> {
  try {
    const sent = await withTarget(userAuthFor(env, sub).account(), (account) => account.issueResetToken({ sub, email }));
    if (!sent) console.warn(JSON.stringify({ event: "password_reset_not_sent", reason: "hourly_limit", sub }));
  } catch (error) {
    console.error(JSON.stringify({ event: "password_reset_not_sent", reason: "error", sub, problem: (error as Error).message }));
  }
}

const resetBody = bodyOf(
  z.object({
    token: z.string(rule("must be a string")),
    password: NewPassword,
    code: z.optional(z.string(rule("must be a string of at most 64 characters")).check(z.maxLength(64))),
  }),
);

const invalidResetToken = () => new AuthError("invalid_grant", 400, "The reset token is invalid, expired or already used.");

passwordRoutes.post("/password/reset", resetBody, async function resetPassword(c) {
  const { token, password, code } = c.req.valid("json");
  const parsed = await parseOneTimeSecret("rt1", token);
  const stub = parsed && userAuthOfToken(c.env, parsed);
  if (!parsed || !stub) throw invalidResetToken();
  const sub = await withTarget(stub.account(), (account) => account.resetTokenUser(parsed.hash));
  if (sub === null) throw invalidResetToken();
  const user = await findUserById(c.env.DB, sub);
  if (user === null) throw invalidResetToken();
  // Before the token is spent: a wrong code leaves the link usable with the right one.
  await requireSecondFactorForReset(c, user, code);
  await screenNewPassword(c.get("config"), password);
  const newHash = await hashPassword(password);
  // Spent here, once: of two resets racing with one token, one gets the user and the other null.
  if ((await withTarget(stub.account(), (account) => account.takeResetToken(parsed.hash))) !== sub) throw invalidResetToken();
  if (!(await setPasswordHash(c.env.DB, { id: sub, newHash, now: Date.now() }))) throw invalidResetToken();
  await withTarget(stub.account(), (account) => account.passwordReplaced({ sub, event: "password_reset", keepSessionId: null, client: clientInfo(c) }));
  return c.body(null, 204);
});

const changeBody = bodyOf(z.object({ current_password: PresentedPassword, new_password: NewPassword }));

passwordRoutes.post("/password", changeBody, requireAccessToken, async function changePassword(c) {
  const { sub, sid } = c.get("auth");
  const { current_password: current, new_password: next } = c.req.valid("json");
  const user = await findUserById(c.env.DB, sub);
  // An account without a password (an upstream provider's) has no current password to match.
  if (user === null) throw wrongPassword();
  await checkPasswordAsLogin(c, user, current, "password_change");
  await screenNewPassword(c.get("config"), next);
  const newHash = await hashPassword(next);
  const replaced = await requireD1("change password", () => replacePasswordHash(c.env.DB, { id: sub, previousHash: user.password_hash, newHash, now: Date.now() }));
  // Another change landed since the check: the password this request proved is no longer the current one.
  if (!replaced) throw wrongPassword();
  await withTarget(userAuthFor(c.env, sub).account(), (account) => account.passwordReplaced({ sub, event: "password_changed", keepSessionId: sid, client: clientInfo(c) }));
  return c.body(null, 204);
});
