// The routes that can set or clear the refresh cookie, for the cookie-mode tests and the
// adversarial suite: each with a fresh user of its own, its ordinary request, and a check that a
// refused request changed nothing.
import { expect } from "vitest";
import { BASE, bearer, mfaTokenOf, openSession, PASSWORD, registerUser, storedSession, storedSessions, uniqueSub, uniqueUsername, userAuthStub, userWithTotp } from "./helpers";

export const APP = "https://app.example.com";
export const EVIL = "https://evil.example.net";
/** The gateway's own origin in the tests (`call` sends every request to BASE). */
export const OWN_ORIGIN = new URL(BASE).origin;
export const COOKIE = "__Host-refresh_token";
export const COOKIE_MODE = { REFRESH_COOKIE: "true", ALLOWED_ORIGINS: `${APP}, https://other.example.org` };

export interface Cookie {
  value: string;
  attributes: string[];
}

/** The refresh cookie a response sets (or clears: value ""), or null. */
export function refreshCookie(response: Response): Cookie | null {
  const header = response.headers.getSetCookie().find((cookie) => cookie.startsWith(`${COOKIE}=`));
  if (!header) return null;
  const [pair, ...attributes] = header.split(";").map((part) => part.trim());
  return { value: decodeURIComponent(pair!.slice(COOKIE.length + 1)), attributes };
}

/** One user's credentials for a cookie-setting route, made fresh for one test. */
export interface RouteFixture {
  /** The route's ordinary request (a JSON body, or a Bearer token for logout-all) with `headers` added. */
  init(headers?: Record<string, string>): RequestInit;
  /** A refresh token of the user's session (for the form and cookie spellings of the request). */
  refreshToken: string;
  /** Asserts that nothing happened: no session opened, rotated or revoked. */
  unchanged(): Promise<void>;
}

export interface CookieSettingRoute {
  path: "/auth/login" | "/auth/mfa/verify" | "/auth/refresh" | "/auth/token" | "/auth/logout" | "/auth/logout-all";
  /** What the ordinary request answers, and what it does to the cookie, when it is let through. */
  success: { status: 200 | 204; cookie: "set" | "cleared" };
  setUp(): Promise<RouteFixture>;
}

function json(body: unknown, headers: Record<string, string>): RequestInit {
  return { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** A session opened through the admin route, with a check that it is still at generation 0 and active. */
async function openedSession() {
  const sub = uniqueSub("cookie-route");
  const pair = await openSession(sub);
  return {
    pair,
    async unchanged() {
      const stored = await storedSession(sub, pair.session_id);
      expect(stored.generation, "rotated").toBe(0);
      expect(stored.revoked_at, "revoked").toBeNull();
    },
  };
}

/** Every route that can set or clear the refresh cookie. */
export const COOKIE_SETTING_ROUTES: CookieSettingRoute[] = [
  {
    path: "/auth/login",
    success: { status: 200, cookie: "set" },
    async setUp() {
      const { username, userId } = await registerUser(uniqueUsername("cookie-route"));
      const other = await openedSession();
      return {
        init: (headers = {}) => json({ username, password: PASSWORD }, headers),
        refreshToken: other.pair.refresh_token,
        async unchanged() {
          expect(await storedSessions(userId), "a session was opened").toEqual([]);
          await other.unchanged();
        },
      };
    },
  },
  {
    // The second step of a login with TOTP on opens the session, and sets the cookie, like the first.
    path: "/auth/mfa/verify",
    success: { status: 200, cookie: "set" },
    async setUp() {
      const user = await userWithTotp();
      const mfaToken = await mfaTokenOf(user);
      const code = await user.device.code();
      return {
        init: (headers = {}) => json({ mfa_token: mfaToken, code }, headers),
        refreshToken: user.session.refresh_token,
        async unchanged() {
          expect((await storedSessions(user.userId)).length, "a session was opened").toBe(1);
          expect((await userAuthStub(user.userId).mfa().counts()).pendingLogins, "the mfa_token was spent").toBe(1);
        },
      };
    },
  },
  {
    path: "/auth/refresh",
    success: { status: 200, cookie: "set" },
    async setUp() {
      const { pair, unchanged } = await openedSession();
      return { init: (headers = {}) => json({ refresh_token: pair.refresh_token }, headers), refreshToken: pair.refresh_token, unchanged };
    },
  },
  {
    // The token endpoint's refresh grant; its code grant opens a session and sets the cookie the
    // same way (test/federation/token.test.ts signs in through a provider for it).
    path: "/auth/token",
    success: { status: 200, cookie: "set" },
    async setUp() {
      const { pair, unchanged } = await openedSession();
      return {
        init: (headers = {}) => json({ grant_type: "refresh_token", refresh_token: pair.refresh_token }, headers),
        refreshToken: pair.refresh_token,
        unchanged,
      };
    },
  },
  {
    path: "/auth/logout",
    success: { status: 204, cookie: "cleared" },
    async setUp() {
      const { pair, unchanged } = await openedSession();
      return { init: (headers = {}) => json({ refresh_token: pair.refresh_token }, headers), refreshToken: pair.refresh_token, unchanged };
    },
  },
  {
    path: "/auth/logout-all",
    success: { status: 204, cookie: "cleared" },
    async setUp() {
      const { pair, unchanged } = await openedSession();
      return {
        init: (headers = {}) => ({ method: "POST", headers: { ...bearer(pair.access_token), ...headers } }),
        refreshToken: pair.refresh_token,
        unchanged,
      };
    },
  },
];
