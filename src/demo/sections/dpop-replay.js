// A refresh token copied out and replayed from elsewhere, without the page's DPoP key.
import { dpop, storage, storedRefreshToken } from "../app/mode.js";
import { $, log } from "../app/ui.js";

/** Wires the "replay" button and says when it cannot work. */
export function mountDpopReplay({ auth, attempt }) {
  $("replay").addEventListener("click", () =>
    attempt("replay", async () => {
      const copy = storedRefreshToken();
      if (!copy || !auth.session) throw new Error("Log in first (DPoP on, localStorage mode).");
      // What a thief does with the copy elsewhere: no DPoP header, since the key cannot be copied.
      const response = await fetch("/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: copy }),
        credentials: "omit",
      });
      const body = await response.json();
      const thief = `The thief's POST /auth/refresh with the current refresh token and no DPoP proof: ${response.status} ${body.error ?? ""}`;
      // The page carries on with the same token: refresh (with a proof), then call the API.
      await auth.refresh();
      const api = await auth.fetch("/api/echo?after=replay");
      $("replay-result").dataset.thief = String(response.status);
      $("replay-result").dataset.api = String(api.status);
      $("replay-result").textContent = `${thief}\nThis page, with its key: refresh 200, GET /api/echo ${api.status}. Still logged in.`;
      log(`A copy of the refresh token replayed without the DPoP key: ${response.status} ${body.error ?? ""}. Nothing was rotated or revoked; this page refreshed and called on.`, response.status === 400 ? "good" : "bad");
    }),
  );

  if (!dpop) $("replay-note").textContent = "Turn DPoP on (link at the top) to try this: without it a copied refresh token works from anywhere, until reuse detection notices.";
  else if (storage !== "localStorage") $("replay-note").textContent = "Only in localStorage mode, where script can read the refresh token.";
}
