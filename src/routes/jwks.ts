import { Hono } from "hono";
import type { AppEnv } from "../http/context";
import { loadKeyRing } from "../tokens/key-ring";

/** `GET /.well-known/jwks.json`: the public halves of `SIGNING_KEYS`, for origins that verify tokens themselves. */
export const jwksRoutes = new Hono<AppEnv>();

jwksRoutes.get("/jwks.json", async function publishKeys(c) {
  const ring = await loadKeyRing(c.get("config").signingKeys);
  // Short enough that a rotated-in key is picked up well within an access token's lifetime.
  c.header("Cache-Control", "public, max-age=300");
  return c.json(ring.jwks);
});
