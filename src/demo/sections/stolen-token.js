// A stolen refresh token: the copy taken at login, replayed two rotations later (reuse detection).
import { dpop, generation, STOLEN_KEY, storage, storedRefreshToken } from "../app/mode.js";
import { $, log } from "../app/ui.js";

/** Wires the "steal" button and says when it cannot work. */
export function mountStolenToken({ auth, attempt }) {
  $("steal").addEventListener("click", () =>
    attempt("steal", async () => {
      const copy = localStorage.getItem(STOLEN_KEY);
      if (!copy || !auth.session) throw new Error("Log in first (in localStorage mode): the copy is taken at login.");
      // The grace window (refresh rule 4) forgives the token rotated just before the current one,
      // for a moment. A copy two rotations old is reuse whenever it comes back.
      while (generation(storedRefreshToken()) - generation(copy) < 2) await auth.refresh();
      const behind = generation(storedRefreshToken()) - generation(copy);
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: copy }),
        credentials: "omit",
      });
      const body = await response.json();
      $("attack-result").textContent = `The attacker's POST /auth/refresh with the copy (${behind} rotations old): ${response.status} ${body.error}`;
      localStorage.removeItem(STOLEN_KEY);
      // Tabs learn of it at their next refresh; this one refreshes now to show it.
      await auth.refresh().catch(() => undefined);
      // The list shows what is active now: the revoked sessions leave it (all of them, when reuse logged the user out).
      if (auth.session) $("list-sessions").click();
      if (auth.session) log("An attacker replayed the refresh token copied at login, without this page's DPoP key: refused before reuse detection, nothing revoked. Still logged in.", "good");
      else log("An attacker replayed the refresh token copied at login: reuse. The gateway revoked every session of this user.", "bad");
    }),
  );

  if (storage !== "localStorage") $("steal-note").textContent = "Only in localStorage mode, where script can read the refresh token (which is the point).";
  else if (dpop) $("steal-note").textContent = "At login this page keeps a copy of the refresh token, as malware on the page could. The button replays it, two rotations old, without the DPoP key: the gateway refuses it before reuse detection, so the thief cannot even log the user out that way.";
}
