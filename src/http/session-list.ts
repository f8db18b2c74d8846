import type { ActiveSession } from "../sessions/rpc";
import type { SessionListItem } from "../wire";

/** Active sessions as `GET /auth/sessions` lists them (and the admin's user view): times ISO 8601, `current` for `currentSessionId`'s. */
export function sessionListItems(sessions: readonly ActiveSession[], currentSessionId: string | null): SessionListItem[] {
  return sessions.map((session) => ({
    id: session.id,
    created_at: iso(session.createdAt),
    last_used_at: iso(session.lastUsedAt),
    expires_at: session.expiresAt === null ? null : iso(session.expiresAt),
    user_agent: session.userAgent,
    ip: session.ip,
    amr: session.amr,
    auth_time: iso(session.authTime),
    current: session.id === currentSessionId,
  }));
}

const iso = (ms: number) => new Date(ms).toISOString();
