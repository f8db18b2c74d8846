// A local OpenID provider: panva's oidc-provider (a certified implementation) on 127.0.0.1, for the
// tests and for `npm run idp`, so that signing in through an upstream provider works with no
// account anywhere.
//
// Its configuration departs from oidc-provider's defaults only where a local provider must:
// - its own keys (ES256 for ID tokens, which is what the gateway's clients ask for) and cookie
//   keys, made fresh at each start, instead of the development keys it would generate and warn
//   about;
// - `devInteractions` off: the login step is ours, below, a plain HTML form (no script, so a test
//   can post it as a browser would) where any account name signs in (`alice`, `bob`, ...). Its
//   `sub` is that name, its e-mail `<name>@example.test`. "Cancel" ends the flow with
//   `access_denied`, as a user who declines at a real provider does;
// - the ID token carries the e-mail (`conformIdTokenClaims: false`), as the big providers' do;
// - consent is not asked: the two clients are the gateway's, first-party, so the consent step
//   (which oidc-provider requires of every native client) is granted at once, with the scopes
//   asked for;
// - the clients are `native`, so that their loopback redirect URI matches whatever port the
//   gateway runs on (RFC 8252 section 7.3): `http://127.0.0.1/auth/oidc/callback` and
//   `http://localhost/auth/oidc/callback`, with the gateway's ISSUER on either host.
//
// Two clients: `gateway-confidential` (with LOCAL_IDP_CLIENT_SECRET, client_secret_basic) and
// `gateway-public` (PKCE only). GET /__counts answers how many discovery and JWKS documents it
// served, so tests and the bench can check that the gateway caches them.
import { createServer } from "node:http";
import { randomBytes } from "node:crypto";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";
// Its own in-memory store, named here rather than left as the default it warns about: a local
// provider forgets its sessions and codes when it stops, which is all a local provider needs.
import { createMemoryAdapter } from "oidc-provider/lib/adapters/memory_adapter.js";

/** The confidential client's secret: fixed, so that the `OIDC_CLIENT_SECRETS` line can be printed once and pasted. */
export const LOCAL_IDP_CLIENT_SECRET = "local-idp-secret-for-development-only";
export const CONFIDENTIAL_CLIENT = "gateway-confidential";
export const PUBLIC_CLIENT = "gateway-public";

const CALLBACKS = ["http://127.0.0.1/auth/oidc/callback", "http://localhost/auth/oidc/callback"];
const ACCOUNT = /^[A-Za-z0-9._@+-]{1,64}$/;

/**
 * Starts the provider on 127.0.0.1 (`port` 0: any free port). Resolves with its issuer, the
 * counts of the documents it served, and `stop()`.
 *
 * @param {{ port?: number, log?: (line: string) => void }} [options]
 */
export async function startLocalIdp({ port = 0, log = () => {} } = {}) {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(undefined));
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("local idp has no port");
  const issuer = `http://127.0.0.1:${address.port}`;

  const signer = await generateKeyPair("ES256", { extractable: true });
  const provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    clients: [
      {
        client_id: CONFIDENTIAL_CLIENT,
        client_secret: LOCAL_IDP_CLIENT_SECRET,
        application_type: "native",
        redirect_uris: CALLBACKS,
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "ES256",
      },
      {
        client_id: PUBLIC_CLIENT,
        application_type: "native",
        redirect_uris: CALLBACKS,
        token_endpoint_auth_method: "none",
        id_token_signed_response_alg: "ES256",
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(signer.privateKey)), kid: `local-${randomBytes(4).toString("hex")}`, alg: "ES256", use: "sig" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      if (!ACCOUNT.test(id)) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: id, email: `${id.toLowerCase()}@example.test`, email_verified: true, name: id }),
      };
    },
    // The ID token carries the e-mail and name itself, as Google's and Entra's do, rather than
    // only the userinfo endpoint (oidc-provider's default, the letter of OpenID Connect Core 5.4).
    conformIdTokenClaims: false,
    ttl: { AccessToken: 600, IdToken: 600, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
    renderError(ctx, out) {
      ctx.type = "text/plain";
      ctx.body = `${out.error}: ${out.error_description ?? ""}`;
    },
  });
  provider.on("server_error", (_ctx, error) => log(`local idp: ${error.message}`));

  const counts = { discovery: 0, jwks: 0, token: 0 };
  const handle = provider.callback();
  server.on("request", (request, response) => {
    const url = new URL(request.url ?? "/", issuer);
    if (url.pathname === "/.well-known/openid-configuration") counts.discovery += 1;
    if (url.pathname === "/jwks") counts.jwks += 1;
    if (url.pathname === "/token") counts.token += 1;
    if (url.pathname === "/__counts") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(counts));
      return;
    }
    const interaction = /^\/interaction\/([\w-]+)(\/login|\/abort)?$/.exec(url.pathname);
    if (interaction) {
      void interact(provider, request, response, interaction[1], interaction[2]).catch((error) => {
        log(`local idp: interaction failed: ${error.message}`);
        if (!response.headersSent) response.writeHead(400, { "Content-Type": "text/plain" });
        response.end("interaction failed");
      });
      return;
    }
    handle(request, response);
  });

  return {
    issuer,
    counts,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

/** The login step: the form (GET), signing in as the posted name (POST .../login), or declining (POST .../abort). */
async function interact(provider, request, response, uid, action) {
  const details = await provider.interactionDetails(request, response);
  if (details.uid !== uid) throw new Error("interaction does not match its cookie");
  if (details.prompt.name === "consent") {
    // Signed in already (a session of this provider): only the consent step is left.
    await provider.interactionFinished(request, response, { consent: { grantId: await grantFor(provider, details, details.session.accountId) } }, { mergeWithLastSubmission: true });
    return;
  }
  if (request.method === "GET" && action === undefined) {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }).end(loginForm(uid, details.params.client_id));
    return;
  }
  if (request.method !== "POST") throw new Error("method not allowed");
  const form = new URLSearchParams(await readBody(request));
  if (action === "/abort") {
    await provider.interactionFinished(request, response, { error: "access_denied", error_description: "The user declined." }, { mergeWithLastSubmission: false });
    return;
  }
  const login = form.get("login") ?? "";
  if (!ACCOUNT.test(login)) {
    response.writeHead(400, { "Content-Type": "text/html; charset=utf-8" }).end(loginForm(uid, details.params.client_id, "Type an account name: letters, digits and . _ @ + -"));
    return;
  }
  const consent = { grantId: await grantFor(provider, details, login) };
  await provider.interactionFinished(request, response, { login: { accountId: login }, consent }, { mergeWithLastSubmission: false });
}

/** A grant of the scopes the client asked for: first-party clients are not asked to consent. */
async function grantFor(provider, details, accountId) {
  const grant = new provider.Grant({ clientId: details.params.client_id, accountId });
  grant.addOIDCScope(String(details.params.scope ?? "openid"));
  return grant.save();
}

async function readBody(request) {
  const chunks = [];
  let size = 0;
  for await (const chunk of request) {
    size += chunk.length;
    if (size > 16_384) throw new Error("form too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function loginForm(uid, clientId, problem = "") {
  const escape = (text) => String(text).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Local OpenID provider</title></head>
<body>
<h1>Local OpenID provider</h1>
<p>${escape(clientId)} asks you to sign in. Any account name works here: each is a user of its own.</p>
${problem ? `<p role="alert">${escape(problem)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
  <label>Account <input name="login" value="alice" autocomplete="username" required></label>
  <button type="submit">Sign in</button>
</form>
<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>
</body></html>`;
}
