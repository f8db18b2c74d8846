import { OAuthAuthorizationServer } from "@cloudflare/workers-oauth-provider";
import { base64url } from "jose";

// A peer of the bench (`npm run bench`, docs/scale.md "Peers"): the authorization server of
// @cloudflare/workers-oauth-provider, set up as its README and docs/authorization-server.md say
// for production: the split-roles `OAuthAuthorizationServer` (the recommended shape), grants and
// tokens in the `OAUTH_KV` namespace, a pre-registered public client using PKCE S256 (what
// MCP's client registration prefers), and refresh tokens that rotate on use. Only the
// lifetimes are set, to the gateway's defaults, so both issue tokens that live as long: access
// tokens 300 s, a grant 90 days at most and 14 days idle. The library's defaults are kept
// everywhere else.
//
// The bench measures its token endpoint (`POST /oauth/token`, `grant_type=refresh_token`). The
// one route of the bench's own, `POST /bench/session`, opens a grant the way a sign-in does:
// the authorization request parsed and completed by the library's helpers (as an application's
// /authorize page calls them once the user is signed in and has consented), then the code
// exchanged at the token endpoint with its PKCE verifier.

interface Env {
  OAUTH_KV: KVNamespace;
  /** This server's origin, `http://127.0.0.1:<port>` (the bench passes it with `--var`). */
  ISSUER: string;
}

const DAY_SECONDS = 86_400;
const REDIRECT_URI = "http://127.0.0.1/callback";
const CLIENT_KEY = "bench:client-id";

let server: OAuthAuthorizationServer<Env> | null = null;

/** One authorization server per isolate: its issuer is this server's origin, known from env. */
function authorizationServer(env: Env): OAuthAuthorizationServer<Env> {
  server ??= new OAuthAuthorizationServer<Env>({
    issuer: env.ISSUER,
    resources: [`${env.ISSUER}/api`],
    accessTokenTTL: 300,
    refreshTokenTTL: 90 * DAY_SECONDS,
    refreshTokenIdleTTL: 14 * DAY_SECONDS,
  });
  return server;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/bench/session" && request.method === "POST") return openGrant(request, env, ctx);
    return authorizationServer(env).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

/** `POST /bench/session {"user"}`: a new grant for `user`, answered with the code exchange's token response and the client's id. */
async function openGrant(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { user?: unknown } | null;
  const user = body?.user;
  if (typeof user !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(user)) {
    return Response.json({ error: "invalid_request", error_description: "user must be 1 to 128 of A-Z a-z 0-9 . _ -" }, { status: 400 });
  }
  const server = authorizationServer(env);
  const api = server.getOAuthApi(env);
  const clientId = await benchClient(env, api);

  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const authorize = new URL(`${env.ISSUER}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    state: crypto.randomUUID(),
    code_challenge: challenge,
    code_challenge_method: "S256",
    resource: `${env.ISSUER}/api`,
  }).toString();
  const authRequest = await api.parseAuthRequest(new Request(authorize));
  const { redirectTo } = await api.completeAuthorization({
    request: authRequest,
    userId: user,
    metadata: {},
    scope: authRequest.scope,
    props: { userId: user },
  });
  const code = new URL(redirectTo).searchParams.get("code");
  if (!code) throw new Error("completeAuthorization gave no code");

  const exchange = new Request(`${env.ISSUER}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier }),
  });
  const exchanged = await server.fetch(exchange, env, ctx);
  if (!exchanged.ok) return exchanged;
  // A refresh names its client (a public one authenticates with nothing else): the bench needs the id.
  return Response.json({ ...((await exchanged.json()) as object), client_id: clientId });
}

/** The bench's pre-registered public client, created once and kept in KV. */
async function benchClient(env: Env, api: ReturnType<OAuthAuthorizationServer<Env>["getOAuthApi"]>): Promise<string> {
  const known = await env.OAUTH_KV.get(CLIENT_KEY);
  if (known) return known;
  const client = await api.createClient({ redirectUris: [REDIRECT_URI], clientName: "bench", tokenEndpointAuthMethod: "none" });
  await env.OAUTH_KV.put(CLIENT_KEY, client.clientId);
  return client.clientId;
}
