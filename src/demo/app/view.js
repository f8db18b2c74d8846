// What the page shows of the session (status, countdown, refresh counts, the DPoP binding), and
// `attempt`, which runs a button's action, logs its error and shows the outcome.
import { storage, USERNAME_KEY, where } from "./mode.js";
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
      const claims = claimsOf(await auth.getAccessToken());
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

  // How the user signed in (the access token's amr, RFC 8176) and when (auth_time): the page reads
  // its own token only to show it.
  async function renderAmr() {
    try {
      const claims = claimsOf(await auth.getAccessToken());
      const methods = (claims.amr ?? []).map((value) => AMR_WORDS[value] ?? value).join(" + ");
      $("amr").dataset.amr = (claims.amr ?? []).join(" ");
      $("amr").textContent = `${methods || "?"} (amr ${JSON.stringify(claims.amr ?? [])}), at ${new Date(claims.auth_time * 1000).toLocaleTimeString()}`;
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

/** What each amr value (RFC 8176) means, as the page says it. */
const AMR_WORDS = { pwd: "password", otp: "one-time code", mfa: "two factors", hwk: "passkey (a device you hold)", user: "your fingerprint, face or PIN", fed: "an upstream provider", adm: "the admin route" };

/** The claims of a JWT, unverified: only to show them. */
function claimsOf(token) {
  return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
}

// RFC 7638: SHA-256 of the required members in lexical order, base64url.
async function thumbprint({ crv, kty, x, y }) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify({ crv, kty, x, y }))));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
