import { Hono } from "hono";
import * as z from "zod/mini";
import { requireAdmin } from "../http/admin-token";
import { bodyOf, bodyWithoutFields } from "../http/body";
import { clientInfo, type AppEnv } from "../http/context";
import { eventOnTheWire, queryEvents } from "../db/events";
import { EVENT_TYPES, type EventList } from "../wire";
import { invalidRequest } from "../errors/auth-error";
import { dpopProof } from "../http/dpop";
import { signInResponse } from "../http/token-response";
import { AMR_VALUES } from "../tokens/authentication-claims";
import { SessionClaimsRules } from "../http/claim-rules";
import { USER_ID_PATTERN } from "../tokens/user-id";
import { userAuthFor } from "../sessions/lookup";
import { queryOf, rule } from "../http/validation";

/** `/auth/admin/*`: for the origin's back end, behind `ADMIN_API_TOKEN`. */
export const adminRoutes = new Hono<AppEnv>();

// Each route runs requireAdmin after its body checks: the contract checks size, media type and
// fields before authentication.

// The user-id rule (src/tokens/user-id.ts), and not "." or "..", which could not be named in
// `/auth/admin/users/:sub/revoke` (URLs drop dot segments).
export const SUB_RULE = 'must be 1 to 255 printable ASCII characters (no spaces), and not "." or ".."';
export const Sub = z.string(rule(SUB_RULE)).check(z.regex(USER_ID_PATTERN), z.refine((sub) => sub !== "." && sub !== ".."));

// How the back end signed the user in (RFC 8176): the contract's values, each at most once.
const AMR_RULE = `must be a non-empty array of distinct values among ${AMR_VALUES.join(", ")}`;
const Amr = z
  .array(z.enum(AMR_VALUES, rule(AMR_RULE)), rule(AMR_RULE))
  .check(z.minLength(1, rule(AMR_RULE)), z.refine((amr) => new Set(amr).size === amr.length, rule(AMR_RULE)));

const openSessionBody = bodyOf(z.object({ sub: Sub, claims: z.optional(SessionClaimsRules), amr: z.optional(Amr) }));

adminRoutes.post("/sessions", dpopProof({ issuesTokens: true }), openSessionBody, requireAdmin, async function openSession(c) {
  const { sub, claims, amr } = c.req.valid("json");
  return signInResponse(c, { method: "admin", sub, claims: claims ?? {}, amr });
});

adminRoutes.post("/users/:sub/revoke", bodyWithoutFields, requireAdmin, async function revokeUser(c) {
  const sub = Sub.safeParse(c.req.param("sub"));
  if (!sub.success) throw invalidRequest(`The user id (sub) in the path ${SUB_RULE}`);
  await userAuthFor(c.env, sub.data).revokeAllSessions({
    event: "admin_revoke",
    sub: sub.data,
    currentSessionId: null,
    client: clientInfo(c),
  });
  return c.body(null, 204);
});

const eventsQuery = queryOf(
  z.object({
    sub: z.optional(Sub),
    type: z.optional(z.enum(EVENT_TYPES, rule(`must be one of ${EVENT_TYPES.join(", ")}`))),
    limit: z._default(
      z.coerce.number(rule("must be a whole number from 1 to 1000")).check(z.int(), z.minimum(1), z.maximum(1000)),
      100,
    ),
  }),
);

adminRoutes.get("/events", requireAdmin, eventsQuery, async function listEvents(c) {
  const events = await queryEvents(c.env.DB, c.req.valid("query"));
  c.header("Cache-Control", "no-store");
  return c.json({ events: events.map(eventOnTheWire) } satisfies EventList);
});
