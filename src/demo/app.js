// The demo page's script (served at /demo/app.js with the client bundled in by
// scripts/build-client.mjs). Plain JavaScript and the DOM, nothing else: what an app needs of the
// client is `createAuthClient`, `auth.fetch` and the account calls (and `dpop: true` for DPoP).
import { AuthClientError, createAuthClient } from "../client/index.ts";

const MODES = ["localStorage", "memory", "cookie"];
const params = new URLSearchParams(location.search);
const storage = MODES.includes(params.get("storage") ?? "") ? params.get("storage") : "localStorage";
// /demo?dpop=1: sessions bound to a DPoP key that never leaves this origin.
const dpop = params.get("dpop") === "1";
// Bearer and DPoP sessions apart: switching modes never hands one mode the other's session.
const storageKey = `edge-auth-demo-${storage}${dpop ? "-dpop" : ""}`;
// What malware on the page would have copied at login (localStorage mode only).
const STOLEN_KEY = `${storageKey}:stolen-copy`;
const USERNAME_KEY = `${storageKey}:username`;
const cookieTransport = document.body.dataset.refreshCookie === "true";

const $ = (id) => document.getElementById(id);
const counts = { here: 0, elsewhere: 0 };

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
    render();
  },
});
// For the browser console (and the end-to-end tests).
window.auth = auth;

auth.subscribe((event) => {
  if (event.type === "refresh") {
    counts[event.fromOtherTab ? "elsewhere" : "here"] += 1;
    if (!event.fromOtherTab) log(`Refreshed: new access token, valid ${secondsLeft(event.session)} s.`);
    else log("Another tab refreshed; this tab uses its new access token.");
  }
  if (event.type === "login" && event.fromOtherTab) log("Logged in in another tab.");
  render();
  void renderBinding();
});

// --- account ---

$("credentials").addEventListener("submit", (event) => {
  event.preventDefault();
  void attempt("login", async () => {
    const { username, password } = credentials();
    const session = await auth.login(username, password);
    localStorage.setItem(USERNAME_KEY, username);
    if (storage === "localStorage") localStorage.setItem(STOLEN_KEY, storedRefreshToken());
    counts.here = counts.elsewhere = 0;
    log(`Logged in: session ${short(session.sessionId)}, access token valid ${secondsLeft(session)} s.`, "good");
  });
});

$("register").addEventListener("click", () =>
  attempt("register", async () => {
    const { username, password } = credentials();
    await auth.register(username, password);
    log(`Registered ${username}. Log in now.`, "good");
  }),
);

$("logout").addEventListener("click", () =>
  attempt("logout", async () => {
    await auth.logout();
    log("Logged out (every tab of this mode follows).");
  }),
);

$("logout-all").addEventListener("click", () =>
  attempt("logout-all", async () => {
    await auth.logoutAll();
    log("Logged out everywhere: every session of this user is revoked.");
  }),
);

// --- the protected API ---

async function callApi() {
  const started = performance.now();
  try {
    const response = await auth.fetch("/api/echo?from=demo");
    const body = await response.json();
    const took = Math.round(performance.now() - started);
    $("api-result").dataset.status = String(response.status);
    $("api-result").textContent =
      response.status === 200
        ? `200 in ${took} ms: the origin saw X-Auth-User ${body.headers["x-auth-user"]}, X-Auth-Session ${short(body.headers["x-auth-session"])}`
        : `${response.status}: ${JSON.stringify(body)}`;
  } catch (error) {
    $("api-result").dataset.status = "error";
    $("api-result").textContent = describe(error);
  }
  render();
}

$("call").addEventListener("click", () => void callApi());

let autoTimer = null;
$("auto").addEventListener("change", (event) => {
  clearInterval(autoTimer);
  autoTimer = event.target.checked ? setInterval(() => void callApi(), 1000) : null;
});

// --- sessions ---

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

// --- a stolen refresh token ---

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
    if (auth.session) log("An attacker replayed the refresh token copied at login, without this page's DPoP key: refused before reuse detection, nothing revoked. Still logged in.", "good");
    else log("An attacker replayed the refresh token copied at login: reuse. The gateway revoked every session of this user.", "bad");
  }),
);

// --- a refresh token copied out and replayed from elsewhere (DPoP) ---

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

// --- rendering ---

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
  if (!session) return void ($("binding").textContent = "–");
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

// RFC 7638: SHA-256 of the required members in lexical order, base64url.
async function thumbprint({ crv, kty, x, y }) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify({ crv, kty, x, y }))));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function renderCountdown() {
  const session = auth.session;
  const left = session ? Math.max(0, session.accessTokenExpiresAt - Date.now()) : 0;
  $("expires-in").textContent = session ? `${(left / 1000).toFixed(1)} s` : "–";
  const lifetime = Number(document.body.dataset.accessTtl) * 1000;
  $("meter-bar").style.width = `${Math.min(100, (left / lifetime) * 100)}%`;
  $("meter-bar").classList.toggle("low", left < lifetime / 4);
}

function where() {
  const place = { localStorage: "in localStorage", memory: "in this page's memory", cookie: "in the HttpOnly __Host-refresh_token cookie" }[storage];
  return dpop ? `${place}, bound to this page's DPoP key` : place;
}

function log(text, tone = "") {
  const item = document.createElement("li");
  item.className = tone;
  const stamp = document.createElement("time");
  stamp.textContent = new Date().toLocaleTimeString();
  item.append(stamp, " ", text);
  $("log").prepend(item);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

async function attempt(what, action) {
  try {
    await action();
  } catch (error) {
    log(`${what}: ${describe(error)}`, "bad");
  }
  render();
}

function describe(error) {
  if (error instanceof AuthClientError) return `${error.code}${error.status ? ` (${error.status})` : ""}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

function credentials() {
  return { username: $("username").value.trim(), password: $("password").value };
}

// The demo knows the gateway's refresh-token format (rt1.<object>.<session>.<generation>.<mac>);
// an app never needs to.
function generation(token) {
  return Number(token.split(".")[3]);
}

function storedRefreshToken() {
  return JSON.parse(localStorage.getItem(storageKey) ?? "{}").refreshToken ?? "";
}

const short = (id) => (id ? `${id.slice(0, 8)}…` : "?");
const time = (iso) => new Date(iso).toLocaleTimeString();
const secondsLeft = (session) => Math.round((session.accessTokenExpiresAt - Date.now()) / 1000);

// --- start ---

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
$("steal").disabled = storage !== "localStorage";
if (storage !== "localStorage") $("steal-note").textContent = "Only in localStorage mode, where script can read the refresh token (which is the point).";
else if (dpop) $("steal-note").textContent = "At login this page keeps a copy of the refresh token, as malware on the page could. The button replays it, two rotations old, without the DPoP key: the gateway refuses it before reuse detection, so the thief cannot even log the user out that way.";
$("replay").disabled = !(dpop && storage === "localStorage");
if (!dpop) $("replay-note").textContent = "Turn DPoP on (link at the top) to try this: without it a copied refresh token works from anywhere, until reuse detection notices.";
else if (storage !== "localStorage") $("replay-note").textContent = "Only in localStorage mode, where script can read the refresh token.";
setInterval(renderCountdown, 200);
render();
void renderBinding();
if (storage === "cookie" && cookieTransport) {
  void auth.restore().then((session) => {
    if (session) log(`Restored session ${short(session.sessionId)} from the cookie.`, "good");
    render();
  });
}
