// Ending sessions and listing them: this one, all of the user's, or one chosen from the list.
import type { ClientContext } from "../context.js";
import { errorFromResponse } from "../errors.js";
import type { SessionRecord } from "../options.js";
import type { SessionList } from "../../wire/index.js";

/**
 * `POST /auth/logout`: ends this session on the gateway and forgets it here and in the other
 * tabs. Forgotten here even when the gateway cannot be reached (the error is thrown after).
 */
export async function logout(client: ClientContext): Promise<void> {
  const { state, transport, mode } = client;
  await state.exclusive(async () => {
    const session = state.read();
    if (!session && mode !== "cookie") return;
    try {
      // Cookie mode: the cookie says which session, and the gateway clears it.
      const response = await transport.post("/auth/logout", session?.refreshToken ? { refresh_token: session.refreshToken } : undefined);
      // 401: not a token of this gateway's, so there is nothing to end.
      if (!response.ok && response.status !== 401) throw await errorFromResponse(response);
    } finally {
      state.end("logged_out", false);
    }
  });
}

/** `POST /auth/logout-all`: ends every session of the user, this one included. */
export async function logoutAll(client: ClientContext): Promise<void> {
  const response = await client.fetch("/auth/logout-all", { method: "POST" });
  if (response.status !== 204) throw await errorFromResponse(response);
  client.state.end("logged_out", false);
}

/** `GET /auth/sessions`: the user's active sessions; `current` marks this one. */
export async function listSessions(client: ClientContext): Promise<SessionRecord[]> {
  const response = await client.fetch("/auth/sessions");
  if (!response.ok) throw await errorFromResponse(response);
  return ((await response.json()) as SessionList).sessions;
}

/** `DELETE /auth/sessions/:id`: ends one of the user's sessions ("sign out my phone"). */
export async function revokeSession(client: ClientContext, sessionId: string): Promise<void> {
  const response = await client.fetch(`/auth/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
  if (response.status !== 204) throw await errorFromResponse(response);
  if (sessionId === client.state.read()?.sessionId) client.state.end("logged_out", false);
}
