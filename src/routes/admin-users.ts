import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAdmin } from "../http/admin-token";
import { type AppEnv } from "../http/context";
import { Email, Username } from "../http/account-fields";
import { accountView, isKnownAccount, userItem } from "../http/account-view";
import { sessionListItems } from "../http/session-list";
import { queryOf } from "../http/validation";
import { accountRows, findUserByEmail, findUserByUsername, normalizeUsername } from "../db/users";
import { invalidRequest, notFound } from "../errors/auth-error";
import { userAuthFor } from "../sessions/lookup";
import type { AdminUserDetail, AdminUserList } from "../wire";
import { Sub, SUB_RULE } from "./admin";

/**
 * Operators find users and their sessions without SQL: `GET /auth/admin/users?username=` or
 * `?email=` (0 or 1 user), and `GET /auth/admin/users/:sub` (the account and its active
 * sessions, read from the user's object).
 */
export const adminUserRoutes = new Hono<AppEnv>();

const searchQuery = queryOf(z.object({ username: z.optional(Username), email: z.optional(Email) }));

adminUserRoutes.get("/users", requireAdmin, searchQuery, async function findUsers(c) {
  const { username, email } = c.req.valid("query");
  if ((username === undefined) === (email === undefined)) throw invalidRequest("Give exactly one of username or email.");
  const user = username !== undefined ? await findUserByUsername(c.env.DB, normalizeUsername(username)) : await findUserByEmail(c.env.DB, email!);
  const users = user === null ? [] : [userItem(user.id, { user, identities: [] })];
  c.header("Cache-Control", "no-store");
  return c.json({ users } satisfies AdminUserList);
});

adminUserRoutes.get("/users/:sub", requireAdmin, async function showUser(c) {
  const sub = Sub.safeParse(c.req.param("sub"));
  if (!sub.success) throw invalidRequest(`The user id (sub) in the path ${SUB_RULE}`);
  const stub = userAuthFor(c.env, sub.data);
  const [rows, factors, sessions] = await Promise.all([accountRows(c.env.DB, sub.data), stub.accountFactors(), stub.listSessions()]);
  if (!isKnownAccount(rows) && sessions.length === 0) throw notFound("No user has that id.");
  c.header("Cache-Control", "no-store");
  return c.json({ ...accountView(sub.data, rows, factors), sessions: sessionListItems(sessions, null) } satisfies AdminUserDetail);
});
