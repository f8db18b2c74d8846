// What the page shows of the session (status, countdown, refresh counts, the DPoP binding), and
// `attempt`, which runs a button's action, logs its error and shows the outcome.
import { dpop, storage, USERNAME_KEY, where } from "./mode.js";
import { $, describe, log, short } from "./ui.js";

/**
 * The view of `auth`'s session. Sections (src/demo/sections/) get it with the client as `demo`:
 * `{ auth, counts, render, renderBinding, renderCountdown, attempt }`.
 */
export function createView(auth) {
  const counts = { here: 0, elsewhere: 0 };

  function render() {
    const session = auth.session;
    const status = $("status");
    status.dataset.state = session ? "logged-in" : "logged-out";
    status.textContent = session
      ? `Logged in as ${localStorage.getItem(USERNAME_KEY) ?? "?"}, session ${short(session.sessionId)}. Refresh token: ${where()}.`
      : "Logged out.";
    $("session-id").textContent = session ? session.sessionId : "–";
    $("refresh-count").textContent = `${counts.here} here, ${counts.elsewhere} in other tabs`;
    $("refresh-count").dataset.here = String(counts.here);
    document.body.dataset.state = status.dataset.state;
    // What can be done now: log in while logged out (a form waiting for a code counts as busy), log out while logged in.
    const waitingForCode = !$("mfa-step").hidden;
    for (const id of ["username", "password", "login", "register", "passkey-login"]) $(id).disabled = session !== null || waitingForCode;
    for (const id of ["logout", "logout-all"]) $(id).disabled = session === null;
    $("steal").disabled = session === null || storage !== "localStorage";
    $("replay").disabled = session === null || !(dpop && storage === "localStorage");
    // A list of sessions shown while logged out (the page's own one revoked, say) is stale.
    if (!session) $("session-rows").replaceChildren();
    renderCountdown();
  }

  // The session's binding: the access token's cnf.jkt (RFC 9449 section 6.1), and whether it is the
  // thumbprint of this page's key. The page reads its own token only to show it.
  async function renderBinding() {
    const session = auth.session;
    $("token-type").textContent = session ? session.tokenType : "–";
    if (!session) {
      $("amr").textContent = "–";
      return void ($("binding").textContent = "–");
    }
    void renderAmr();
    if (session.tokenType !== "DPoP") {
      $("binding").textContent = "nothing: a Bearer token works for whoever holds it";
      return;
    }
    try {
      const claims = JSON.parse(atob((await auth.getAccessToken()).split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      const key = await auth.dpopKey();
      const ours = (await thumbprint(key.jwk)) === claims.cnf?.jkt;
      $("binding").dataset.jkt = claims.cnf?.jkt ?? "";
      const extractable = key.privateKey.extractable ? "extractable!" : "not extractable";
      $("binding").title = `cnf.jkt ${claims.cnf?.jkt}`;
      $("binding").textContent = `${ours ? "this page's key" : "another key"}, cnf.jkt ${claims.cnf?.jkt.slice(0, 12)}… (ES256, private key ${extractable}, ${storage === "memory" ? "in this page" : "in IndexedDB"})`;
    } catch (error) {
      $("binding").textContent = describe(error);
    }
  }

  // The access token's amr (RFC 8176): which factors signed this session in.
  async function renderAmr() {
    try {
      const claims = JSON.parse(atob((await auth.getAccessToken()).split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      const amr = Array.isArray(claims.amr) ? claims.amr : [];
      $("amr").dataset.amr = amr.join(" ");
      $("amr").textContent = amr.length === 0 ? "?" : `${amr.join(" + ")} (${amr.map((value) => AMR_WORDS[value] ?? value).join(", ")})`;
    } catch (error) {
      $("amr").textContent = describe(error);
    }
  }

  function renderCountdown() {
    const session = auth.session;
    const left = session ? Math.max(0, session.accessTokenExpiresAt - Date.now()) : 0;
    $("expires-in").textContent = session ? `${(left / 1000).toFixed(1)} s` : "–";
    const lifetime = Number(document.body.dataset.accessTtl) * 1000;
    $("meter-bar").style.width = `${Math.min(100, (left / lifetime) * 100)}%`;
    $("meter-bar").classList.toggle("low", left < lifetime / 4);
  }

  /** Runs a button's `action`; its error goes to the log as `what: ...`; the page is shown again after. */
  async function attempt(what, action) {
    try {
      await action();
    } catch (error) {
      log(`${what}: ${describe(error)}`, "bad");
    }
    render();
  }

  return { counts, render, renderBinding, renderCountdown, attempt };
}

/** What each `amr` value means, in words. */
const AMR_WORDS = { pwd: "a password", otp: "a one-time code", mfa: "two factors", hwk: "a hardware key", user: "user verification", fed: "an upstream provider", adm: "the admin route" };

// RFC 7638: SHA-256 of the required members in lexical order, base64url.
async function thumbprint({ crv, kty, x, y }) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify({ crv, kty, x, y }))));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
