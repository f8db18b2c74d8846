import { oauthClients, oidcClientSecrets, oidcProviders } from "./federation";
import { count, flag, httpUrl, issuerUrl, oneOf, origins, pathPrefixes, seconds, secret, signingSecrets, text } from "./parsers";
import { DEFAULT_WEBHOOK_EVENTS, webhookEvents, webhookSecret } from "./webhook-parsers";
import { rpId, rpName } from "./webauthn-parsers";
import { Setting, setting, type NamesOf, type SettingsTree } from "./setting";

/**
 * Every setting of the gateway, in the order of the docs table. Keys are the names of `Config`'s
 * fields. A new variable is one row here, then `npm run docs:settings` and a line in wrangler.toml
 * (`npm test` fails until both agree with this table).
 */
export const SETTINGS = {
  issuer: setting(
    "ISSUER",
    issuerUrl,
    "http://127.0.0.1:8787",
    "`iss` of access tokens and the issuer of the metadata; set it to your gateway's URL (`npm run dev` sets it to the URL it serves on, `npm run deploy` refuses a local one)",
  ),
  audience: setting("AUDIENCE", text, "edge-auth-gateway", "`aud` of access tokens"),
  realm: setting("REALM", text, "edge-auth-gateway", "realm of `WWW-Authenticate`"),
  accessTokenTtlSeconds: setting("ACCESS_TOKEN_TTL_SECONDS", seconds({ min: 1 }), "300", "access-token lifetime, `expires_in`"),
  clockSkewSeconds: setting("CLOCK_SKEW_SECONDS", seconds(), "30", "tolerance for the `exp`, `nbf` and `iat` of access tokens and the `iat` of DPoP proofs"),

  /** What the UserAuth Durable Object applies to sessions; it reads them from its own env. */
  session: {
    refreshIdleTtlSeconds: setting("REFRESH_IDLE_TTL_SECONDS", seconds(), "1209600", "a session not refreshed for this long ends; `0` = no limit"),
    sessionMaxTtlSeconds: setting("SESSION_MAX_TTL_SECONDS", seconds(), "7776000", "a session ends this long after login, however active; `0` = no limit"),
    refreshReuseGraceSeconds: setting(
      "REFRESH_REUSE_GRACE_SECONDS",
      seconds(),
      "10",
      "the grace period of [rule 4](#rule-4-previous-token-within-the-grace-period); `0` = off",
    ),
    reuseRevokes: setting(
      "REUSE_REVOKES",
      oneOf(["user", "session"]),
      "user",
      "on reuse, revoke every session of the user (`user`) or that session only (`session`)",
    ),
    /** How long a revoked or expired session is kept (so its tokens still answer invalid_grant) before it is purged. */
    sessionRetentionSeconds: setting(
      "SESSION_RETENTION_SECONDS",
      seconds(),
      "604800",
      "how long an ended session is kept (its tokens keep answering `invalid_grant`, its record stays queryable) before it is deleted; the user's Durable Object keeps only the `MAX_SESSIONS_PER_USER` most recently ended ones that long, D1 keeps every record",
    ),
    /** Active sessions a user may hold; opening one more revokes the least recently used. */
    maxSessionsPerUser: setting(
      "MAX_SESSIONS_PER_USER",
      count,
      "100",
      "active sessions per user before the least recently used is revoked; also how many ended sessions the user's Durable Object keeps ([Limits](#limits))",
    ),
    /** Whether each rotation and grace replay is an audit event; security events always are. */
    auditRefreshEvents: setting(
      "AUDIT_REFRESH_EVENTS",
      flag,
      "true",
      "record every rotation (`refresh`) and grace replay (`refresh_grace_replay`) as an audit event; `false` keeps only the security events (logins, reuse, logouts, revocations, expiry), for deployments whose refresh rate one D1 database would not carry ([docs/scale.md](scale.md))",
    ),
  },

  originUrl: setting("ORIGIN_URL", httpUrl, "", "where verified requests go ([Forwarded requests](#forwarded-requests))", {
    shownDefault: "unset: [echo origin](#echo-origin)",
  }),
  /** The claims hook: the session's custom claims, computed by the team's own code at sign-in and every `ttlSeconds` after. */
  claims: {
    hookUrl: setting(
      "CLAIMS_HOOK_URL",
      httpUrl,
      "",
      "where the gateway asks for a session's custom claims when it opens and on refreshes whose claims are older than `CLAIMS_TTL_SECONDS` ([Claims hook](#claims-hook)); a service binding `CLAIMS` is used instead when there is one",
      { shownDefault: "unset: no hook (unless a `CLAIMS` service binding exists)" },
    ),
    ttlSeconds: setting(
      "CLAIMS_TTL_SECONDS",
      seconds({ min: 1 }),
      "300",
      "how long a session's claims are used before a refresh asks the [claims hook](#claims-hook) again: at most one hook call per session per this many seconds",
    ),
  },
  publicPathPrefixes: setting("PUBLIC_PATH_PREFIXES", pathPrefixes, "", "[public path](#public-paths) prefixes, matched on whole segments"),
  forwardAuthorization: setting("FORWARD_AUTHORIZATION", flag, "true", "forward the client's `Authorization` header to the origin"),
  allowRegistration: setting("ALLOW_REGISTRATION", flag, "true", "`POST /auth/register` exists (404 when `false`); login works either way"),
  refreshCookie: setting("REFRESH_COOKIE", flag, "false", "[cookie mode](#cookie-mode)"),
  dpop: setting(
    "DPOP",
    oneOf(["optional", "required"]),
    "optional",
    "`optional`: a session is bound to a DPoP key when the request that opens it (login, admin session) carries a proof, never at a refresh; `required`: login, admin-session and refresh requests without a `DPoP` header get 400 `invalid_dpop_proof` ([DPoP](dpop.md))",
  ),
  allowedOrigins: setting(
    "ALLOWED_ORIGINS",
    origins,
    "",
    "origins allowed, in [cookie mode](#cookie-mode), to make cookie-authenticated requests and to call the routes that set or clear the cookie from another site, and to make cross-origin calls to any path ([CORS](#cors)). Each entry a full origin (`https://app.example.com`, `http://localhost:3000`); anything else, `null` and `*` included, is a bad value",
  ),

  /** The brute-force limits of the built-in login, applied by the LoginThrottle objects. */
  login: {
    maxFailuresPerUsernameAndIp: setting(
      "LOGIN_MAX_FAILURES_PER_USERNAME_AND_IP",
      count,
      "5",
      "failed logins per username and client address within the window ([Limits](#limits))",
    ),
    maxFailuresPerUsername: setting(
      "LOGIN_MAX_FAILURES_PER_USERNAME",
      count,
      "100",
      "failed logins per username over all addresses within the window; high on purpose: it only stops a guesser spread over many addresses",
    ),
    maxFailuresPerIp: setting("LOGIN_MAX_FAILURES_PER_IP", count, "50", "failed logins per client address within the window"),
    failureWindowSeconds: setting("LOGIN_FAILURE_WINDOW_SECONDS", seconds({ min: 1 }), "900", "the window of the three login limits"),
    registrationsPerIpPerHour: setting("REGISTRATIONS_PER_IP_PER_HOUR", count, "20", "registration attempts per client address per hour"),
  },

  /** Sign-in through upstream OpenID providers, and the gateway as an OAuth server for the team's own apps (docs/federation.md). */
  federation: {
    providers: setting(
      "OIDC_PROVIDERS",
      oidcProviders,
      "",
      "the upstream OpenID providers users sign in through: `id` (1 to 32 of `a-z 0-9 -`: the `provider` of [`GET /auth/authorize`](#get-authauthorize) and the `idp` claim), `issuer` (`https://`, or `http://127.0.0.1` / `http://localhost` for a local provider), `client_id`, `scope` (default `openid email profile`); register `<ISSUER>/auth/oidc/callback` with each ([docs/federation.md](federation.md))",
      { accepts: 'JSON array of `{"id","issuer","client_id","scope"?}`' },
    ),
    clientSecrets: setting(
      "OIDC_CLIENT_SECRETS",
      oidcClientSecrets,
      "",
      "the gateway's client secret at each upstream provider, by provider id; a provider without one is a public client (PKCE only)",
      { secret: true, shownDefault: "empty: every provider a public client", accepts: "JSON object, provider id to secret" },
    ),
    oauthClients: setting(
      "OAUTH_CLIENTS",
      oauthClients,
      "",
      "the team's own apps (web, mobile) that sign users in through [`/auth/authorize`](#get-authauthorize) and [`/auth/token`](#post-authtoken): public clients with PKCE, their redirect URIs compared exactly",
      { accepts: 'JSON array of `{"client_id","redirect_uris":[...]}`' },
    ),
    linkReturnUrl: setting(
      "OIDC_LINK_RETURN_URL",
      httpUrl,
      "",
      "where the browser goes after linking an identity ([`POST /auth/identities`](#post-authidentities)), with `linked=<provider>` or `error=...`",
      { shownDefault: "`<ISSUER>/demo` when `DEMO` is on, else unset: linking answers 503" },
    ),
  },

  /** Passkeys (WebAuthn): the relying party the gateway is to authenticators, and the pages that may use its passkeys (docs/passkeys.md). */
  webauthn: {
    rpId: setting(
      "WEBAUTHN_RP_ID",
      rpId,
      "localhost",
      "the domain [passkeys](passkeys.md) are bound to (the WebAuthn RP ID): your site's domain or a parent of it; a passkey made for one RP ID never works for another",
    ),
    rpName: setting(
      "WEBAUTHN_RP_NAME",
      rpName,
      "edge-auth-gateway",
      "the name an authenticator shows beside the passkey, and the issuer of TOTP `otpauth_uri`s",
    ),
    origins: setting(
      "WEBAUTHN_ORIGINS",
      origins,
      "",
      "the pages allowed to register and use passkeys (the `origin` of a WebAuthn response); each must be on `WEBAUTHN_RP_ID` or a subdomain of it",
      { shownDefault: "empty: the gateway's own origin plus `ALLOWED_ORIGINS`" },
    ),
  },

  /** The breached-password check (src/accounts/breached-passwords.ts): the k-anonymity range API. */
  pwnedPasswords: {
    mode: setting(
      "PWNED_PASSWORDS",
      oneOf(["off", "warn", "block"]),
      "off",
      "check new passwords (register, reset, change) against the breached-password range API: `block` refuses a breached one (400 `breached_password`), `warn` lets it through with `\"breached\": true` in register's answer; off by default, since the check sends the first 5 hex characters of the password's SHA-1 to a third party ([Breached passwords](#breached-passwords))",
    ),
    url: setting(
      "PWNED_PASSWORDS_URL",
      httpUrl,
      "https://api.pwnedpasswords.com/range/",
      "the range API the check asks (the 5 characters are appended); a failure or an answer slower than 2 s lets the password through, logged",
    ),
  },

  auditRetentionSeconds: setting("AUDIT_RETENTION_SECONDS", seconds(), "7776000", "how long audit events are kept (daily cleanup)"),

  /** Signed webhooks (src/events/): where they go, the key that signs them, which audit events they carry. */
  webhooks: {
    url: setting(
      "WEBHOOK_URL",
      httpUrl,
      "",
      "where the selected audit events and every message to a user (verification codes, reset links) are POSTed as [signed webhooks](#webhooks)",
      { shownDefault: "unset: no webhooks; messages reach nobody (local dev: the log, `DEV_MESSAGE_LOG`)" },
    ),
    secret: setting("WEBHOOK_SECRET", webhookSecret, "", "the key that signs each webhook (Standard Webhooks); required with `WEBHOOK_URL`", {
      secret: true,
      shownDefault: "unset",
    }),
    events: setting(
      "WEBHOOK_EVENTS",
      webhookEvents,
      DEFAULT_WEBHOOK_EVENTS,
      "the audit event types sent as webhooks besides D1 (the `message.*` types always go; a list of only those selects no audit type)",
    ),
  },
  /** Local dev only: messages to users go to the log when there is no webhook receiver. */
  devMessageLog: setting(
    "DEV_MESSAGE_LOG",
    flag,
    "false",
    "with `WEBHOOK_URL` unset, write each message to a user (its code or reset token included) to the worker's log, marked dev-only; `npm run dev` turns it on, `npm run deploy` refuses it",
  ),
  /** Serve the demo app at `/demo` (off by default; `npm run dev` turns it on). */
  demo: setting("DEMO", flag, "false", "serve the demo app at [`/demo`](#get-demo); `npm run dev` turns it on"),
  /** The raw `SIGNING_KEYS` secret, checked and imported by `tokens/key-ring.ts`; null when unset. */
  signingKeys: setting(
    "SIGNING_KEYS",
    secret(),
    "",
    "the private signing keys, each with a `kid`, EC P-256 (ES256) or Ed25519 (EdDSA); the first signs, all verify; `npm run keys` makes a set",
    { secret: true, shownDefault: "unset: no token can be issued or verified", accepts: "JSON JWK set" },
  ),
  introspectionToken: setting(
    "INTROSPECTION_TOKEN",
    secret({ minLength: 32 }),
    "",
    "a second Bearer token for [`POST /auth/introspect`](#post-authintrospect) (the admin token works too), for an origin that should not hold the admin token",
    { secret: true, shownDefault: "unset: only the admin token" },
  ),
  adminApiToken: setting("ADMIN_API_TOKEN", secret(), "", "the Bearer token of `/auth/admin/*`", {
    secret: true,
    shownDefault: "unset: admin routes answer 401",
  }),
  /** The secret that signs forwarded requests (the first of the pair during a rotation); null: unsigned. */
  originSigningSecret: setting(
    "ORIGIN_SIGNING_SECRET",
    signingSecrets,
    "",
    "signs every forwarded request, public or not, and every call to the [claims hook](#claims-hook) (`X-Auth-Timestamp`, `X-Auth-Signature`: [Forwarded requests](#forwarded-requests), [docs/origin.md](origin.md)); during a rotation `new,old`, the first signs",
    { secret: true, shownDefault: "unset: forwarded requests are not signed" },
  ),
} as const satisfies SettingsTree;

/** Every row of `tree`, in table order. */
export function settingRows(tree: SettingsTree = SETTINGS): Setting[] {
  return Object.values(tree).flatMap((node) => (node instanceof Setting ? [node] : settingRows(node)));
}

/** The name of every variable of the gateway. */
export type SettingName = NamesOf<typeof SETTINGS>;
