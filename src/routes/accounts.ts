import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod/mini";
import { bodyOf } from "../http/body";
import { clientInfo, keyRing, type AppEnv } from "../http/context";
import { auditEvent } from "../db/events";
import { findUserByUsername, insertUser, normalizeUsername, replacePasswordHash, type UserRecord } from "../db/users";
import { AuthError, notFound } from "../errors/auth-error";
import { LoginGuard } from "../accounts/login-guard";
import { countRegistration } from "../accounts/registration-limit";
import { hashPassword, verifyPassword } from "../accounts/passwords";
import { dpopProof } from "../http/dpop";
import { setsRefreshCookie } from "../http/refresh-cookie";
import { tokenResponse } from "../http/token-response";
import { userAuthFor, withTarget } from "../sessions/lookup";
import type { PasswordSignIn } from "../sessions/mfa-rpc";
import { sessionOpening } from "../sessions/sign-in";
import { Email, NewPassword, PresentedPassword, Username } from "../http/account-fields";
import { screenNewPassword } from "../accounts/breached-passwords";
import type { MfaRequiredBody, RegisterResponse } from "../wire";

/** The built-in password login: `POST /auth/register` and `POST /auth/login`. */
export const accountRoutes = new Hono<AppEnv>();

const registerBody = bodyOf(z.object({ username: Username, password: NewPassword, email: z.optional(Email) }));

const loginBody = bodyOf(z.object({ username: Username, password: PresentedPassword }));

/** With `ALLOW_REGISTRATION=false` the route does not exist, whatever the body. */
const registrationOpen = createMiddleware<AppEnv>(async function registrationOpen(c, next) {
  if (!c.get("config").allowRegistration) throw notFound("Registration is closed.");
  await next();
});

accountRoutes.post("/register", registrationOpen, registerBody, async function register(c) {
  const { username, password, email } = c.req.valid("json");
  await countRegistration(c.env, clientInfo(c).ip);
  const { breached } = await screenNewPassword(c.get("config"), password);
  const now = Date.now();
  const user: UserRecord = {
    id: crypto.randomUUID(),
    username,
    username_normalized: normalizeUsername(username),
    password_hash: await hashPassword(password),
    created_at: now,
    password_updated_at: now,
    email: email ?? null,
    email_verified: 0,
  };
  const outcome = await insertUser(c.env.DB, user);
  if (outcome === "username_taken") throw new AuthError("username_taken", 409, "That username is already taken.");
  if (outcome === "email_taken") throw new AuthError("email_taken", 409, "That e-mail address belongs to another account.");
  return c.json({ user_id: user.id, ...(breached ? { breached: true as const } : {}) } satisfies RegisterResponse, 201);
});

accountRoutes.post("/login", setsRefreshCookie, dpopProof({ issuesTokens: true }), loginBody, async function login(c) {
  const { username, password } = c.req.valid("json");
  const config = c.get("config");
  const client = clientInfo(c);
  // Keys first: a server that cannot sign tokens must not count or judge attempts.
  keyRing(c);

  const normalized = normalizeUsername(username);
  const guard = new LoginGuard(c.env, normalized, client.ip);
  await guard.begin();

  let user: Awaited<ReturnType<typeof findUserByUsername>>;
  let check: Awaited<ReturnType<typeof verifyPassword>>;
  try {
    user = await findUserByUsername(c.env.DB, normalized);
    // An unknown username is checked against a dummy hash: same work, same answer.
    check = await verifyPassword(password, user?.password_hash ?? null);
  } catch (error) {
    await guard.abandon();
    throw error;
  }

  if (!user || !check.ok) {
    // The submitted username of an unknown user is not recorded: people type their password
    // into the username field, and the audit log must not collect passwords.
    await guard.failed(
      auditEvent({
        type: "login_failed",
        sub: user?.id ?? null,
        session_id: null,
        at: Date.now(),
        ip: client.ip,
        detail: { reason: user ? "wrong_password" : "unknown_username" },
      }),
    );
    throw new AuthError("invalid_credentials", 401, "The username or password is wrong.");
  }

  if (check.needsRehash) await upgradeHash(c.env.DB, user.id, user.password_hash, password);
  // One call to the user's object: it opens the session, or, with TOTP on, hands out an mfa_token.
  let signedIn: PasswordSignIn;
  try {
    const login = { opening: sessionOpening({ method: "password", sub: user.id }, Date.now()), username: normalized, client, proof: c.get("dpop") };
    signedIn = await withTarget(userAuthFor(c.env, user.id).mfa(), (mfa) => mfa.openPasswordSession(login));
  } catch (error) {
    await guard.abandon();
    throw error;
  }
  if (signedIn.kind === "mfa_required") {
    // No verdict yet: the attempt is uncounted, and earlier failures stay until the code is right,
    // so knowing the password does not reset the count of wrong codes.
    await guard.abandon();
    c.header("Cache-Control", "no-store");
    return c.json(
      { error: "mfa_required", error_description: "The password is right: send a TOTP or recovery code to POST /auth/mfa/verify with this mfa_token.", mfa_token: signedIn.mfaToken } satisfies MfaRequiredBody,
      401,
    );
  }
  await guard.succeeded();
  return tokenResponse(c, signedIn.session);
});

/** Re-hashes a password that matched a hash with older parameters. A failure only postpones it to the next login. */
export async function upgradeHash(db: D1Database, id: string, previousHash: string, password: string) {
  try {
    await replacePasswordHash(db, { id, previousHash, newHash: await hashPassword(password), now: Date.now() });
  } catch (error) {
    console.warn(`password re-hash postponed: ${(error as Error).message}`);
  }
}
