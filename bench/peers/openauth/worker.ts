import { issuer } from "@openauthjs/openauth";
import type { Provider } from "@openauthjs/openauth/provider/provider";
import { CloudflareStorage } from "@openauthjs/openauth/storage/cloudflare";
import type { StorageAdapter } from "@openauthjs/openauth/storage/storage";
import { createSubjects } from "@openauthjs/openauth/subject";
import { base64url } from "jose";
import * as z from "zod";

// A peer of the bench (`npm run bench`, docs/scale.md "Peers"): @openauthjs/openauth's issuer
// as its README and its Cloudflare example set it up for production: `CloudflareStorage` over a
// KV namespace (the storage its README recommends on Cloudflare), one subject type, and the code
// flow with PKCE S256, after which refresh tokens rotate at `POST /token`. Only the token
// lifetimes are set, to the gateway's defaults (access tokens 300 s, refresh tokens 14 days);
// the reuse interval (60 s) and the retention for reuse detection (0 s) are the library's
// defaults. One issuer per isolate, built on the first request (its example builds one per
// request, which would also reload its signing keys from KV on every request).
//
// The bench measures its token endpoint (`grant_type=refresh_token`). `POST /bench/session`
// opens a session the way a sign-in does, through the issuer's own routes: `/authorize`, then
// the `seed` provider's page (a provider of the bench's own that signs in the user named in the
// request, where a real one would check a password or an upstream identity), then the code
// exchanged at `/token` with its PKCE verifier.

interface Env {
  AUTH_KV: KVNamespace;
}

const REDIRECT_URI = "http://127.0.0.1/callback";
const CLIENT_ID = "bench";
const USER_HEADER = "X-Bench-User";

const subjects = createSubjects({ user: z.object({ id: z.string() }) });

/** Signs in whoever the bench names in `X-Bench-User`: the stand-in for a provider's sign-in page. */
const seedProvider: Provider<{ user: string }> = {
  type: "seed",
  init(route, ctx) {
    route.get("/authorize", (c) => ctx.success(c, { user: c.req.header(USER_HEADER) ?? "" }));
  },
};

/**
 * The KV storage as it behaves deployed. The library computes a record's expiry as now + TTL, and
 * the adapter turns it back into a TTL from now: on Workers the clock stands still between the
 * two (it moves only across I/O), so a 60 s TTL, its default for codes and used refresh tokens,
 * reaches KV as 60. Under `wrangler dev` the clock moves during synchronous code, so it could
 * reach KV as 59, below KV's minimum of 60, and the write failed now and then. Adding the
 * second the local clock may have moved restores the deployed value.
 */
function asDeployed(storage: StorageAdapter): StorageAdapter {
  return { ...storage, set: (key, value, expiry) => storage.set(key, value, expiry && new Date(expiry.getTime() + 999)) };
}

function buildIssuer(env: Env) {
  return issuer({
    storage: asDeployed(CloudflareStorage({ namespace: env.AUTH_KV as never })),
    subjects,
    providers: { seed: seedProvider },
    ttl: { access: 300, refresh: 14 * 86_400 },
    async success(ctx, value) {
      if (value.user === "") throw new Error("no user");
      return ctx.subject("user", { id: value.user });
    },
  });
}

let app: ReturnType<typeof buildIssuer> | null = null;

export default {
  fetch(request, env, ctx) {
    app ??= buildIssuer(env);
    const url = new URL(request.url);
    if (url.pathname === "/bench/session" && request.method === "POST") return openSession(request, app, url.origin);
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

/** `POST /bench/session {"user"}`: a session for `user`, answered with the code exchange's token response. */
async function openSession(request: Request, app: ReturnType<typeof buildIssuer>, origin: string): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { user?: unknown } | null;
  const user = body?.user;
  if (typeof user !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(user)) {
    return Response.json({ error: "invalid_request", error_description: "user must be 1 to 128 of A-Z a-z 0-9 . _ -" }, { status: 400 });
  }
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
  const authorize = new URL(`${origin}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    state: crypto.randomUUID(),
    provider: "seed",
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  const started = await app.request(authorize.toString());
  const cookie = started.headers.getSetCookie().map((header) => header.split(";")[0]).join("; ");
  const providerPage = new URL(started.headers.get("Location") ?? "", origin);
  const signedIn = await app.request(providerPage.toString(), { headers: { Cookie: cookie, [USER_HEADER]: user } });
  const redirect = new URL(signedIn.headers.get("Location") ?? "", origin).searchParams;
  const code = redirect.get("code");
  if (!code) {
    const why = `${redirect.get("error") ?? signedIn.status}: ${redirect.get("error_description") ?? ""}`;
    return Response.json({ error: "server_error", error_description: `sign-in failed (${why})` }, { status: 500 });
  }
  const exchanged = await app.request(`${origin}/token`, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: REDIRECT_URI, client_id: CLIENT_ID, code_verifier: verifier }),
  });
  if (!exchanged.ok) return exchanged;
  return Response.json({ ...((await exchanged.json()) as object), client_id: CLIENT_ID });
}
