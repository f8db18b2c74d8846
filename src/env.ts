import type { LoginThrottle } from "./accounts/login-throttle";
import type { EventMessage } from "./events/messages";
import type { UserAuth } from "./sessions/user-auth";

/**
 * The worker's bindings. Every variable arrives as a string (wrangler.toml `[vars]`, `--var`,
 * `.dev.vars` or a secret); `requireSettings` reads them into typed values by the table of
 * src/config/settings.ts.
 */
export interface Env {
  USER_AUTH: DurableObjectNamespace<UserAuth>;
  LOGIN_THROTTLE: DurableObjectNamespace<LoginThrottle>;
  DB: D1Database;
  /** The queue of everything that leaves the Durable Objects: D1 writes and webhooks (src/events/). */
  EVENTS: Queue<EventMessage>;

  ISSUER?: string;
  AUDIENCE?: string;
  REALM?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  REFRESH_IDLE_TTL_SECONDS?: string;
  SESSION_MAX_TTL_SECONDS?: string;
  REFRESH_REUSE_GRACE_SECONDS?: string;
  REUSE_REVOKES?: string;
  CLOCK_SKEW_SECONDS?: string;
  ORIGIN_URL?: string;
  PUBLIC_PATH_PREFIXES?: string;
  FORWARD_AUTHORIZATION?: string;
  ALLOW_REGISTRATION?: string;
  REFRESH_COOKIE?: string;
  DPOP?: string;
  ALLOWED_ORIGINS?: string;
  MAX_SESSIONS_PER_USER?: string;
  AUDIT_REFRESH_EVENTS?: string;
  LOGIN_MAX_FAILURES_PER_USERNAME_AND_IP?: string;
  LOGIN_MAX_FAILURES_PER_USERNAME?: string;
  LOGIN_MAX_FAILURES_PER_IP?: string;
  LOGIN_FAILURE_WINDOW_SECONDS?: string;
  REGISTRATIONS_PER_IP_PER_HOUR?: string;
  SESSION_RETENTION_SECONDS?: string;
  AUDIT_RETENTION_SECONDS?: string;
  DEMO?: string;
  WEBHOOK_URL?: string;
  WEBHOOK_EVENTS?: string;
  DEV_MESSAGE_LOG?: string;

  /** Secret: a JSON JWK set of private signing keys; the first one signs. */
  SIGNING_KEYS?: string;
  /** Secret: the bearer token of the admin routes. Unset means the admin routes answer 401. */
  ADMIN_API_TOKEN?: string;
  /** Secret: `whsec_` + base64, the Standard Webhooks key that signs each webhook. */
  WEBHOOK_SECRET?: string;
}
