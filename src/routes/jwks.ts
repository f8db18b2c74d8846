import { Hono } from "hono";
import { keyRing, type AppEnv } from "../http/context";

/** `GET /.well-known/jwks.json`: the public halves of `SIGNING_KEYS`, for origins that verify tokens themselves. */
export const jwksRoutes = new Hono<AppEnv>();

jwksRoutes.get("/jwks.json", async function publishKeys(c) {
  const ring = keyRing(c);
  // Short enough that a rotated-in key is picked up well within an access token's lifetime.
  c.header("Cache-Control", "public, max-age=300");
  return c.json(ring.jwks);
});
