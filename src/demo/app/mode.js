// The demo's mode, from the page's URL (/demo?storage=cookie&dpop=1), and where that mode keeps
// the refresh token, which the demo reads only to show what a thief could do with it.

const MODES = ["localStorage", "memory", "cookie"];
const params = new URLSearchParams(location.search);

/** Where the client keeps the session: `localStorage` (the default), `memory` or `cookie`. */
export const storage = MODES.includes(params.get("storage") ?? "") ? params.get("storage") : "localStorage";
/** /demo?dpop=1: sessions bound to a DPoP key that never leaves this origin. */
export const dpop = params.get("dpop") === "1";
// Bearer and DPoP sessions apart: switching modes never hands one mode the other's session.
export const storageKey = `edge-auth-demo-${storage}${dpop ? "-dpop" : ""}`;
/** What malware on the page would have copied at login (localStorage mode only). */
export const STOLEN_KEY = `${storageKey}:stolen-copy`;
export const USERNAME_KEY = `${storageKey}:username`;
/** The gateway runs with REFRESH_COOKIE=true (the page says so), which cookie mode needs. */
export const cookieTransport = document.body.dataset.refreshCookie === "true";

/** Where this mode keeps the refresh token, in words. */
export function where() {
  const place = { localStorage: "in localStorage", memory: "in this page's memory", cookie: "in the HttpOnly __Host-refresh_token cookie" }[storage];
  return dpop ? `${place}, bound to this page's DPoP key` : place;
}

/** The refresh token the client stored (localStorage mode; empty otherwise). */
export function storedRefreshToken() {
  return JSON.parse(localStorage.getItem(storageKey) ?? "{}").refreshToken ?? "";
}

// The demo knows the gateway's refresh-token format (rt1.<object>.<session>.<generation>.<mac>);
// an app never needs to.
export function generation(token) {
  return Number(token.split(".")[3]);
}
