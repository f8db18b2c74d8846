import { Hono } from "hono";
import { keyRing, type AppEnv } from "../http/context";
import { DPOP_ALGORITHMS } from "../tokens/dpop";
import type { AuthorizationServerMetadata } from "../wire";

/**
 * The two `/.well-known/` documents the gateway serves itself: `jwks.json`, the public halves of
 * `SIGNING_KEYS` for origins that verify tokens themselves, and `oauth-authorization-server`, the
 * metadata that lets a standard OAuth client find everything else. Any other `/.well-known/` path
 * (`security.txt`, `openid-configuration`, an app's `apple-app-site-association`) is the origin's:
 * it matches nothing here and goes on to the gateway like any other path, token needed.
 */
export const wellKnownRoutes = new Hono<AppEnv>();

wellKnownRoutes.get("/jwks.json", async function publishKeys(c) {
  const ring = keyRing(c);
  // Short enough that a rotated-in key is picked up well within an access token's lifetime.
  c.header("Cache-Control", "public, max-age=300");
  return c.json(ring.jwks);
});

// RFC 8414 section 3: authorization server metadata. Clients hold refresh tokens the gateway
// issued (no client authentication: they are public clients) and refresh or revoke them.
wellKnownRoutes.get("/oauth-authorization-server", async function publishMetadata(c) {
  const { issuer } = c.get("config");
  const base = issuer.replace(/\/+$/, "");
  c.header("Cache-Control", "public, max-age=300");
  return c.json({
    issuer,
    token_endpoint: `${base}/auth/refresh`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/auth/revoke`,
    grant_types_supported: ["refresh_token"],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
  } satisfies AuthorizationServerMetadata);
});
