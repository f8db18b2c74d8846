// A misbehaving OpenID provider, next to the real one (scripts/lib/local-idp.mjs), for the failures
// a certified provider will not produce on demand: ID tokens with a wrong nonce, audience,
// authorized party or issuer, expired ones, ones signed by a key it does not publish, and token
// answers that are slow, huge, not JSON or an error. Plain JavaScript in Node, like
// test/origin-server.mjs.
//
// Each behaviour is an issuer of its own, `<base>/m/<mode>`, so the gateway under test sees one
// provider per mode (test/federation/settings.ts lists them). Every issuer publishes discovery
// and a JWKS, and its authorization endpoint answers at once (no login step) with a code, the
// `state` it was given and its `iss` (RFC 9207), unless the mode says otherwise. Its token
// endpoint checks the code, the client and the PKCE verifier as a real provider does, then
// answers as the mode says: `good` answers a correct ID token, the control every other mode is
// measured against.
//
//   GET /__counts   how many discovery and JWKS documents each mode served
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { FAKE_MODES } from "./federation/settings.ts";


/** Starts the fake provider on 127.0.0.1; resolves with its base URL and `stop()`. */
export async function startFakeIdp() {
  const published = await generateKeyPair("ES256", { extractable: true });
  const unpublished = await generateKeyPair("ES256", { extractable: true });
  const kid = "fake-key";
  const publicJwk = { ...(await exportJWK(published.publicKey)), kid, alg: "ES256", use: "sig" };
  /** @type {Map<string, { mode: string, clientId: string, nonce: string, redirectUri: string, challenge: string }>} */
  const codes = new Map();
  const counts = Object.fromEntries(FAKE_MODES.map((mode) => [mode, { discovery: 0, jwks: 0, token: 0 }]));
  /** @type {Set<import("node:http").ServerResponse>} */
  const held = new Set();

  const server = createServer(async (request, response) => {
    const base = `http://${request.headers.host}`;
    const url = new URL(request.url ?? "/", base);
    if (url.pathname === "/__counts") return json(response, 200, counts);
    const route = /^\/m\/([a-z0-9-]+)(\/.*)$/.exec(url.pathname);
    const mode = route?.[1];
    if (!route || !mode || !FAKE_MODES.includes(/** @type {any} */ (mode))) return json(response, 404, { error: "not_found" });
    const issuer = `${base}/m/${mode}`;
    const path = route[2];

    if (path === "/.well-known/openid-configuration") {
      counts[mode].discovery += 1;
      if (mode === "discovery-not-json") return text(response, 200, "<html>maintenance</html>");
      return json(response, 200, {
        issuer: mode === "discovery-wrong-issuer" ? `${base}/m/good` : issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["ES256"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["client_secret_basic", "none"],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (path === "/jwks") {
      counts[mode].jwks += 1;
      return json(response, 200, { keys: [publicJwk] });
    }
    if (path === "/authorize") {
      const redirect = new URL(url.searchParams.get("redirect_uri") ?? "");
      const state = url.searchParams.get("state") ?? "";
      redirect.searchParams.set("state", state);
      redirect.searchParams.set("iss", mode === "wrong-iss-param" ? `${base}/m/good` : issuer);
      if (mode === "access-denied") {
        redirect.searchParams.set("error", "access_denied");
      } else {
        const code = randomBytes(16).toString("hex");
        codes.set(code, {
          mode,
          clientId: url.searchParams.get("client_id") ?? "",
          nonce: url.searchParams.get("nonce") ?? "",
          redirectUri: url.searchParams.get("redirect_uri") ?? "",
          challenge: url.searchParams.get("code_challenge") ?? "",
        });
        redirect.searchParams.set("code", code);
      }
      response.writeHead(302, { Location: redirect.href }).end();
      return;
    }
    if (path === "/token" && request.method === "POST") {
      counts[mode].token += 1;
      const form = new URLSearchParams(await body(request));
      const grant = codes.get(form.get("code") ?? "");
      codes.delete(form.get("code") ?? "");
      const verifier = form.get("code_verifier") ?? "";
      const challenge = createHash("sha256").update(verifier).digest("base64url");
      if (!grant || grant.mode !== mode || grant.redirectUri !== form.get("redirect_uri") || grant.challenge !== challenge) {
        return json(response, 400, { error: "invalid_grant", error_description: "code, redirect_uri or code_verifier wrong" });
      }
      switch (mode) {
        case "token-error":
          return json(response, 400, { error: "invalid_grant", error_description: "the fake says no" });
        case "token-500":
          return text(response, 500, "internal error");
        case "not-json":
          return text(response, 200, "<html>not json</html>");
        case "huge":
          return json(response, 200, { access_token: "a", token_type: "Bearer", padding: "x".repeat(2_000_000) });
        case "slow":
          // Holds the request until the gateway gives up (or the server stops).
          held.add(response);
          response.on("close", () => held.delete(response));
          return;
        case "no-id-token":
          return json(response, 200, { access_token: "a", token_type: "Bearer", expires_in: 60 });
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: `fake-${grant.nonce.slice(0, 12)}`,
        email: "fake@example.test",
        email_verified: true,
        nonce: mode === "wrong-nonce" ? "another-nonce" : grant.nonce,
        ...(mode === "wrong-azp" ? { azp: "another-client" } : {}),
        ...(mode === "other-azp" ? { azp: "another-client" } : {}),
      };
      const audience =
        mode === "wrong-aud" ? "another-client" : mode === "extra-aud" || mode === "wrong-azp" ? [grant.clientId, "another-client"] : grant.clientId;
      const jwt = await new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: mode === "unknown-kid" ? "no-such-key" : kid })
        .setIssuer(mode === "wrong-iss" ? `${base}/m/good` : issuer)
        .setAudience(audience)
        .setIssuedAt(mode === "expired" ? now - 7200 : now)
        .setExpirationTime(mode === "expired" ? now - 3600 : now + 300)
        .sign(mode === "other-key" ? unpublished.privateKey : published.privateKey);
      return json(response, 200, { access_token: "upstream-access-token", token_type: "Bearer", expires_in: 60, id_token: jwt });
    }
    return json(response, 404, { error: "not_found" });
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake idp has no port");
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const response of held) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

function json(response, status, value) {
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify(value));
}

function text(response, status, value) {
  response.writeHead(status, { "Content-Type": "text/html" }).end(value);
}

async function body(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
