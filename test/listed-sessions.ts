import { expect } from "vitest";
import { bearer, call } from "./helpers";

/** One session as `GET /auth/sessions` lists it. */
export interface ListedSession {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string | null;
  user_agent: string | null;
  ip: string | null;
  amr: string[] | null;
  auth_time: string;
  current: boolean;
}

/** The caller's sessions through `GET /auth/sessions` (asserting the 200 and `no-store`). */
export async function listSessions(accessToken: string): Promise<ListedSession[]> {
  const response = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(response.status).toBe(200);
  expect(response.headers.get("Cache-Control")).toBe("no-store");
  return ((await response.json()) as { sessions: ListedSession[] }).sessions;
}
