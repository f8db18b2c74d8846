// The peers `npm run bench` measures the gateway's refresh against (docs/scale.md, "Peers"): two
// auth libraries for Workers, each a worker of its own under bench/peers/<key>/ (worker.ts and
// wrangler.toml), started by bench/run.mjs with `wrangler dev` from this project's wrangler, on a
// free port of 127.0.0.1, its KV in the bench's temporary state. Nothing here calls anything but
// those local servers.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/dev-vars.mjs";
import { REQUEST_TIMEOUT_MS } from "./http.mjs";

/**
 * Each peer: its folder under bench/peers/, its npm package (a devDependency), its token
 * endpoint, and whether its worker needs its own origin as `ISSUER`.
 */
export const PEERS = [
  { key: "workers-oauth-provider", package: "@cloudflare/workers-oauth-provider", tokenPath: "/oauth/token", needsIssuer: true },
  { key: "openauth", package: "@openauthjs/openauth", tokenPath: "/token", needsIssuer: false },
];

/** The peer's wrangler.toml. */
export function peerConfig(peer) {
  return join(ROOT, "bench", "peers", peer.key, "wrangler.toml");
}

/** The installed version of the peer's package. */
export function peerVersion(peer) {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", ...peer.package.split("/"), "package.json"), "utf8")).version;
}

/**
 * A client of the peer running at `base`: `openSession(user)` signs a user in through the peer
 * worker's `POST /bench/session` (the peer's own sign-in flow, code and PKCE), `refresh(session)`
 * sends the refresh grant (RFC 6749 section 6) with the session's current refresh token and
 * keeps the one that comes back, and `refreshWith(session, token)` sends it with any token.
 */
export function peerClient(peer, base) {
  const name = `${peer.package} ${peerVersion(peer)}`;
  const refreshWith = (session, refreshToken) =>
    fetch(`${base}${peer.tokenPath}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: session.clientId }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  return {
    name,
    base,
    async openSession(user) {
      const response = await fetch(`${base}/bench/session`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || typeof body?.refresh_token !== "string") throw new Error(`${name}: POST /bench/session answered ${response.status}: ${JSON.stringify(body)}`);
      return { refreshToken: body.refresh_token, clientId: body.client_id };
    },
    async refresh(session) {
      const response = await refreshWith(session, session.refreshToken);
      if (response.ok) session.refreshToken = (await response.clone().json()).refresh_token;
      return response;
    },
    refreshWith,
  };
}
