import { auditEvent } from "../db/events";
import type { UserRecord } from "../db/users";
import { AuthError } from "../errors/auth-error";
import { LoginGuard } from "../accounts/login-guard";
import { verifyPassword } from "../accounts/passwords";
import { clientInfo, type AppContext } from "./context";

/** 401 `invalid_credentials` for a current password that does not match. */
export const wrongPassword = () => new AuthError("invalid_credentials", 401, "The current password is wrong.");

/**
 * Checks a password the signed-in user presents (change password, delete account) as a login
 * would: counted against the login limits (src/accounts/login-guard.ts), a wrong one recorded as
 * `login_failed` and answered 401 `invalid_credentials`. So a stolen access token cannot be used
 * to guess the password faster than the login route allows.
 */
export async function checkPasswordAsLogin(c: AppContext, user: UserRecord, password: string, route: "password_change" | "account_deletion"): Promise<void> {
  const client = clientInfo(c);
  const guard = new LoginGuard(c.env, user.username_normalized, client.ip);
  await guard.begin();
  let ok: boolean;
  try {
    ok = (await verifyPassword(password, user.password_hash)).ok;
  } catch (error) {
    await guard.abandon();
    throw error;
  }
  if (!ok) {
    await guard.failed(auditEvent({ type: "login_failed", sub: user.id, session_id: null, at: Date.now(), ip: client.ip, detail: { reason: "wrong_password", route } }));
    throw wrongPassword();
  }
  await guard.succeeded();
}
