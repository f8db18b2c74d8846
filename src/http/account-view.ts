import type { AccountRows } from "../db/users";
import type { AccountFactors } from "../sessions/rpc";
import type { AccountResponse, AdminUserItem } from "../wire";

/**
 * An account as `GET /auth/account` shows it: the user row and identities from D1, the second
 * factors and passkeys from the user's object. `created_at` is the user row's, or for an upstream
 * provider's user the first identity's; null for a user known only by admin-opened sessions.
 */
export function accountView(sub: string, rows: AccountRows, factors: AccountFactors): AccountResponse {
  return {
    ...userItem(sub, rows),
    mfa: { totp: factors.mfa.totp, recovery_codes_left: factors.mfa.recovery_codes_left },
    passkeys: factors.passkeys,
    identities: rows.identities.map((identity) => ({ provider: identity.provider, email: identity.email })),
  };
}

/** The account's row in the admin's user search. */
export function userItem(sub: string, rows: AccountRows): AdminUserItem {
  const { user } = rows;
  const firstIdentityAt = rows.identities.length === 0 ? null : Math.min(...rows.identities.map((identity) => identity.created_at));
  const createdAt = user?.created_at ?? firstIdentityAt;
  return {
    user_id: sub,
    username: user?.username ?? null,
    email: user?.email ?? null,
    email_verified: user?.email_verified === 1,
    created_at: createdAt === null ? null : new Date(createdAt).toISOString(),
  };
}

/** Whether D1 knows the account at all (a user row or an identity). */
export function isKnownAccount(rows: AccountRows): boolean {
  return rows.user !== null || rows.identities.length > 0;
}
