// The claims hook on 127.0.0.1 (test/claims-hook-server.mjs) as the tests drive it: what it
// answers a user, the calls it received, and a session's claims made due without waiting.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect, vi } from "vitest";
import { userAuthStub } from "../helpers";

export const HOOK = env.TEST_CLAIMS_HOOK_URL!;

/** What the hook answers; see test/claims-hook-server.mjs. */
export type ScriptEntry =
  | { claims: Record<string, unknown>; delayMs?: number }
  | { status: number; body?: string; bodyBase64?: string; headers?: Record<string, string>; delayMs?: number }
  | { redirect: string }
  | { hang: true }
  | { hangBody: true }
  | { endless: true };

/** A call the hook received, with the outcome of its signature check. */
export interface HookCall {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
  body: unknown;
  signature: { user: string | null; session: string | null } | { code: string };
}

/** Has the hook answer `sub`'s calls with `entries`, in order, the last one repeating. */
export async function script(sub: string, ...entries: ScriptEntry[]): Promise<void> {
  const response = await fetch(`${HOOK}/__script/${encodeURIComponent(sub)}`, { method: "PUT", body: JSON.stringify(entries) });
  expect(response.status).toBe(204);
}

/** The calls the hook received for `sub`, oldest first. */
export async function hookCalls(sub: string): Promise<HookCall[]> {
  return (await fetch(`${HOOK}/__calls/${encodeURIComponent(sub)}`)).json();
}

/** Makes a session's claims due: as if the hook had last been asked `seconds` earlier than it was. */
export async function ageClaims(sub: string, sessionId: string, seconds: number): Promise<void> {
  await runInDurableObject(userAuthStub(sub), (_instance, state) => {
    state.storage.sql.exec("UPDATE sessions SET claims_checked_at = claims_checked_at - ? WHERE id = ?", seconds * 1000, sessionId);
  });
}

/** What the user's object holds of a session's claims. */
export function storedClaims(sub: string, sessionId: string): Promise<{ claims: Record<string, unknown>; checkedAt: number }> {
  return runInDurableObject(userAuthStub(sub), (_instance, state) => {
    const row = state.storage.sql.exec<{ claims: string; claims_checked_at: number }>("SELECT claims, claims_checked_at FROM sessions WHERE id = ?", sessionId).one();
    return { claims: JSON.parse(row.claims) as Record<string, unknown>, checkedAt: row.claims_checked_at };
  });
}

const GATEWAY_CLAIMS = new Set(["iss", "aud", "sub", "sid", "jti", "iat", "exp", "nbf", "amr", "auth_time", "cnf", "idp"]);

/** The custom claims of an access token: everything but the claims the gateway sets. */
export function customClaims(accessToken: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(decodeJwt(accessToken)).filter(([name]) => !GATEWAY_CLAIMS.has(name)));
}

/** Records what the code logs with console.warn while `action` runs, as parsed JSON lines. */
export async function warnings(action: () => Promise<void>): Promise<Array<Record<string, unknown>>> {
  const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
  try {
    await action();
    return spy.mock.calls.map(([line]) => {
      try {
        return JSON.parse(String(line)) as Record<string, unknown>;
      } catch {
        return { text: String(line) };
      }
    });
  } finally {
    spy.mockRestore();
  }
}
