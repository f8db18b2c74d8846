import { Hono } from "hono";
import { z } from "zod";
import { requireAdmin } from "../http/admin-token";
import { bodyOf, bodyWithoutFields, validBody } from "../http/body";
import { clientInfo, keyRing, type AppEnv } from "../http/context";
import { EVENT_TYPES, queryEvents } from "../db/events";
import { invalidRequest } from "../http/errors";
import { tokenResponse } from "../http/token-response";
import { REGISTERED_CLAIMS } from "../tokens/access";
import { userAuthFor } from "../sessions/lookup";

/** `/auth/admin/*`: for the origin's back end, behind `ADMIN_API_TOKEN`. */
export const adminRoutes = new Hono<AppEnv>();

// Each route runs requireAdmin after its body checks: the contract checks size, media type and
// fields before authentication.

// "." and ".." could not be named in `/auth/admin/users/:sub/revoke` (URLs drop dot segments).
const Sub = z
  .string()
  .min(1)
  .max(256)
  .refine((sub) => sub !== "." && sub !== "..", 'must not be "." or ".."');
const ClaimValue = z.union([z.string(), z.number(), z.boolean()]);
const reserved = new Set<string>(REGISTERED_CLAIMS);

const OpenSessionBody = z.object({
  sub: Sub,
  claims: z
    // zod's record drops a `__proto__` key without a word; refuse it instead of losing a claim.
    .unknown()
    .refine((claims) => typeof claims !== "object" || claims === null || !Object.hasOwn(claims, "__proto__"), "__proto__ is not a claim name")
    .pipe(z.record(z.string().min(1).max(128), z.union([ClaimValue, z.array(ClaimValue).max(100)])))
    .refine((claims) => Object.keys(claims).every((name) => !reserved.has(name)), {
      message: `must not name a registered claim (${REGISTERED_CLAIMS.join(", ")})`,
    })
    .optional(),
});

adminRoutes.post("/sessions", bodyOf(OpenSessionBody), requireAdmin, async function openSession(c) {
  const body = validBody(c, OpenSessionBody);
  // Keys first: a session whose tokens cannot be signed must not be opened.
  keyRing(c);
  const issued = await userAuthFor(c.env, body.sub).openSession({
    sub: body.sub,
    claims: body.claims ?? {},
    client: clientInfo(c),
    event: "session_created",
    policy: c.get("config").session,
  });
  return tokenResponse(c, issued, 201);
});

adminRoutes.post("/users/:sub/revoke", bodyWithoutFields, requireAdmin, async function revokeUser(c) {
  const sub = Sub.safeParse(c.req.param("sub"));
  if (!sub.success) throw invalidRequest("The user id is not valid.");
  await userAuthFor(c.env, sub.data).revokeAllSessions({
    event: "admin_revoke",
    sub: sub.data,
    currentSessionId: null,
    client: clientInfo(c),
    policy: c.get("config").session,
  });
  return c.body(null, 204);
});

const EventsQuery = z.object({
  sub: Sub.optional(),
  type: z.enum(EVENT_TYPES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

adminRoutes.get("/events", requireAdmin, async function listEvents(c) {
  const query = EventsQuery.safeParse(c.req.query());
  if (!query.success) throw invalidRequest(query.error.issues[0]?.message ?? "Bad query.");
  const events = await queryEvents(c.env.DB, query.data);
  c.header("Cache-Control", "no-store");
  return c.json({
    events: events.map((event) => ({
      type: event.type,
      sub: event.sub,
      session_id: event.session_id,
      at: new Date(event.at).toISOString(),
      ip: event.ip,
      detail: event.detail,
    })),
  });
});
