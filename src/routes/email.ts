import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAccessToken } from "../http/authenticate";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, type AppEnv } from "../http/context";
import { rule } from "../http/validation";
import { auditEvent } from "../db/events";
import { findUserById, markEmailVerified } from "../db/users";
import { AuthError, invalidRequest, tooManyRequests } from "../errors/auth-error";
import { logRefusal } from "../errors/verdict";
import { requireMessageDelivery } from "../events/webhook-settings";
import { sendWebhookOf } from "../durable/queue-messages";
import { userAuthFor, withTarget } from "../sessions/lookup";

/**
 * Proving an address: `POST /auth/email/verification` sends a 6-digit code to the account's
 * address (as `message.email_verification`, through the user's object), `POST /auth/email/verify`
 * spends it. The code lives in the user's object (src/sessions/account-rpc.ts); the verified flag
 * in D1, where the unique index keeps a verified address to one account.
 */
export const emailRoutes = new Hono<AppEnv>();

emailRoutes.post("/email/verification", bodyWithoutFields, requireAccessToken, async function sendVerificationCode(c) {
  const { sub } = c.get("auth");
  // A code that could reach nobody is refused rather than dropped.
  requireMessageDelivery(c.get("config"));
  const user = await findUserById(c.env.DB, sub);
  if (!user?.email) throw invalidRequest("Your account has no e-mail address.");
  if (user.email_verified === 1) throw invalidRequest("Your e-mail address is already verified.");
  const email = user.email;
  const sent = await withTarget(userAuthFor(c.env, sub).account(), (account) => account.issueEmailCode({ sub, email }));
  if (!sent.ok) throw tooManyRequests("Too many verification codes.", sent.retryAfterSeconds);
  return c.body(null, 202);
});

// Any short string: one that is not 6 digits is simply a wrong code, and spends no try.
const verifyBody = bodyOf(z.object({ code: z.string(rule("must be a string of at most 16 characters")).check(z.maxLength(16)) }));

emailRoutes.post("/email/verify", verifyBody, requireAccessToken, async function verifyEmail(c) {
  const { sub, sid } = c.get("auth");
  const { code } = c.req.valid("json");
  const refuse = () => new AuthError("invalid_code", 400, "The code is wrong, expired or used up: ask for a new one.");
  if (!/^\d{6}$/.test(code)) throw refuse();
  const verdict = await withTarget(userAuthFor(c.env, sub).account(), (account) => account.checkEmailCode(code));
  if (!verdict.ok) {
    logRefusal("email_code", verdict.reason, { sub });
    throw refuse();
  }
  const event = auditEvent({ type: "email_verified", sub, session_id: sid, at: Date.now(), ip: clientInfo(c).ip, detail: null });
  const outcome = await markEmailVerified(c.env.DB, { id: sub, email: verdict.email }, event);
  if (outcome === "email_taken") throw new AuthError("email_taken", 409, "That e-mail address was verified by another account.");
  // The account's address changed after the code was sent: the code proved an address it no longer has.
  if (outcome === "address_changed") throw refuse();
  if (outcome === "verified") await sendWebhookOf(c.env, c.get("config"), event);
  return c.body(null, 204);
});
