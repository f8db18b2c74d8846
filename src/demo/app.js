// The demo page's script (served at /demo/app.js with the client bundled in by
// scripts/build-client.mjs). Plain JavaScript and the DOM, nothing else: what an app needs of the
// client is `createAuthClient`, `auth.fetch` and the account calls (and `dpop: true` for DPoP).
//
// Each part of the page is a section (src/demo/sections/): a `mount(demo)` that wires its buttons,
// with `demo` the client and its view (src/demo/app/view.js). A new section is a file and a line
// in SECTIONS.
import { createAuthClient } from "../client/index.ts";
import { cookieTransport, dpop, storage, storageKey } from "./app/mode.js";
import { $, log, secondsLeft, short } from "./app/ui.js";
import { createView } from "./app/view.js";
import { mountAccount } from "./sections/account.js";
import { mountApi } from "./sections/api.js";
import { mountDpopReplay } from "./sections/dpop-replay.js";
import { mountFederation } from "./sections/federation.js";
import { mountLifecycle } from "./sections/lifecycle.js";
import { mountMfa } from "./sections/mfa.js";
import { mountPasskeys } from "./sections/passkeys.js";
import { mountSessions } from "./sections/sessions.js";
import { mountStolenToken } from "./sections/stolen-token.js";

const SECTIONS = [mountAccount, mountFederation, mountPasskeys, mountMfa, mountLifecycle, mountApi, mountSessions, mountStolenToken, mountDpopReplay];

const auth = createAuthClient({
  storage,
  storageKey,
  dpop,
  onLoggedOut(reason) {
    log(
      reason === "refresh_refused"
        ? "Logged out: the gateway refused the refresh token (session revoked, expired, or reuse detected)."
        : "Logged out in another tab.",
      "bad",
    );
    view.render();
  },
});
// For the browser console (and the end-to-end tests).
window.auth = auth;
const view = createView(auth);

auth.subscribe((event) => {
  if (event.type === "refresh") {
    view.counts[event.fromOtherTab ? "elsewhere" : "here"] += 1;
    if (!event.fromOtherTab) log(`Refreshed: new access token, valid ${secondsLeft(event.session)} s.`);
    else log("Another tab refreshed; this tab uses its new access token.");
  }
  if (event.type === "login" && event.fromOtherTab) log("Logged in in another tab.");
  view.render();
  void view.renderBinding();
});

for (const mount of SECTIONS) mount({ auth, ...view });

// --- the mode links and what this mode means ---

for (const link of document.querySelectorAll("#modes a")) {
  link.href = `/demo?storage=${link.dataset.storage}${dpop ? "&dpop=1" : ""}`;
  if (link.dataset.storage === storage) link.setAttribute("aria-current", "page");
}
for (const link of document.querySelectorAll("#dpop-modes a")) {
  link.href = `/demo?storage=${storage}${link.dataset.dpop === "1" ? "&dpop=1" : ""}`;
  if ((link.dataset.dpop === "1") === dpop) link.setAttribute("aria-current", "page");
}
$("second-tab").href = location.href;
$("mode-note").textContent = {
  localStorage: "The refresh token is in localStorage: it survives a reload and every tab of this origin shares it. Any script on the page can read it.",
  memory: "The refresh token is in this page's memory: a reload or a new tab means logging in again, and each tab has its own session.",
  cookie: cookieTransport
    ? "The refresh token is in the HttpOnly __Host-refresh_token cookie: no script can read it. The access token lives in memory and tabs share it by message."
    : "Cookie mode needs the gateway's cookie transport: restart with  npm run dev -- --var REFRESH_COOKIE:true",
}[storage] + (dpop ? " DPoP is on: the session is bound to a non-extractable ES256 key (in IndexedDB; in memory mode, in this page) that signs a proof for every refresh and API call, so a copied token is useless elsewhere." : "");

// --- start ---

setInterval(view.renderCountdown, 200);
view.render();
void view.renderBinding();
if (storage === "cookie" && cookieTransport) {
  void auth.restore().then((session) => {
    if (session) log(`Restored session ${short(session.sessionId)} from the cookie.`, "good");
    view.render();
  });
}
