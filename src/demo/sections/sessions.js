// The user's sessions, each with a button that revokes it.
import { $, log, short, time } from "../app/ui.js";

/** Wires the session list. */
export function mountSessions({ auth, attempt }) {
  async function listSessions() {
    const sessions = await auth.sessions();
    const rows = sessions.map((session) => {
      const row = document.createElement("tr");
      for (const text of [short(session.id) + (session.current ? " (this one)" : ""), time(session.created_at), time(session.last_used_at), session.user_agent ?? "?"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const cell = document.createElement("td");
      const button = document.createElement("button");
      button.textContent = "Revoke";
      button.addEventListener("click", () =>
        attempt("revoke", async () => {
          await auth.revokeSession(session.id);
          log(`Revoked session ${short(session.id)}${session.current ? " (this one: logged out)" : ""}.`);
          if (auth.session) await listSessions();
        }),
      );
      cell.append(button);
      row.append(cell);
      return row;
    });
    $("session-rows").replaceChildren(...rows);
  }

  $("list-sessions").addEventListener("click", () => attempt("sessions", listSessions));
}
