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

// RFC 8414 section 3: authorization server metadata. The team's own apps sign users in with the
// authorization code flow and PKCE (S256 only) at `/auth/authorize` and `/auth/token`, which also
// refreshes (exactly as `/auth/refresh` does), and revoke at `/auth/revoke`: all public clients,
// no client authentication. Every authorization response names the issuer (RFC 9207).
wellKnownRoutes.get("/oauth-authorization-server", async function publishMetadata(c) {
  const { issuer } = c.get("config");
  const base = issuer.replace(/\/+$/, "");
  c.header("Cache-Control", "public, max-age=300");
  return c.json({
    issuer,
    authorization_endpoint: `${base}/auth/authorize`,
    token_endpoint: `${base}/auth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/auth/revoke`,
    grant_types_supported: ["authorization_code", "refresh_token"],
    response_types_supported: ["code"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
  } satisfies AuthorizationServerMetadata);
});
