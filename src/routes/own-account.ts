import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf } from "../http/body";
import { type AppEnv } from "../http/context";
import { PresentedPassword } from "../http/account-fields";
import { accountView } from "../http/account-view";
import { checkPasswordAsLogin } from "../http/current-password";
import { auditEvent } from "../db/events";
import { accountRows, deleteUserEverywhere, findUserById } from "../db/users";
import { AuthError } from "../errors/auth-error";
import { sendWebhookOf } from "../durable/queue-messages";
import { userAuthFor, withTarget } from "../sessions/lookup";
import type { AccountResponse } from "../wire";

/** The caller's own account: `GET /auth/account` shows it, `DELETE /auth/account` ends it. */
export const ownAccountRoutes = new Hono<AppEnv>();

/** How recent a sign-in must be to delete an account that has no password to ask for. */
export const REAUTHENTICATION_WINDOW_SECONDS = 300;

ownAccountRoutes.get("/account", requireAccessToken, async function showAccount(c) {
  const { sub } = c.get("auth");
  const [rows, factors] = await Promise.all([accountRows(c.env.DB, sub), userAuthFor(c.env, sub).accountFactors()]);
  c.header("Cache-Control", "no-store");
  return c.json(accountView(sub, rows, factors) satisfies AccountResponse);
});

const deleteBody = bodyOf(z.object({ password: z.optional(PresentedPassword) }));

ownAccountRoutes.delete("/account", deleteBody, requireAccessToken, async function deleteAccount(c) {
  const claims = c.get("auth");
  const { password } = c.req.valid("json");
  const user = await findUserById(c.env.DB, claims.sub);
  if (user !== null) {
    if (password === undefined) throw new AuthError("invalid_credentials", 401, "Send your password as `password` to delete your account.");
    await checkPasswordAsLogin(c, user, password, "account_deletion");
  } else {
    // No password to ask for (an upstream provider's user): a fresh sign-in stands in for it.
    const signedInAt = claims.auth_time ?? 0;
    if (Date.now() / 1000 - signedInAt > REAUTHENTICATION_WINDOW_SECONDS) {
      throw new AuthError("reauthentication_required", 401, `Sign in again (within ${REAUTHENTICATION_WINDOW_SECONDS / 60} minutes) to delete your account.`);
    }
  }
  // The object first: once its storage is gone no session of the user works, whatever D1 does
  // next. A D1 failure then is a 503 the user retries; the object is already empty.
  await withTarget(userAuthFor(c.env, claims.sub).account(), (account) => account.deleteEverything());
  const event = auditEvent({ type: "account_deleted", sub: claims.sub, session_id: claims.sid, at: Date.now(), ip: null, detail: null });
  await deleteUserEverywhere(c.env.DB, claims.sub, event);
  await sendWebhookOf(c.env, c.get("config"), event);
  return c.body(null, 204);
});
