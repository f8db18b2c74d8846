#!/usr/bin/env node
// npm run example:origin
//
// An origin API to run behind the gateway: plain Node `http` and the gateway's origin SDK
// (`edge-auth-gateway/origin`), nothing else. Every request must carry the gateway's signature
// (X-Auth-Signature over the method, path and query, signed identity and time), so one that did
// not come through the gateway gets 401, whatever X-Auth-User it claims. With a user, it also
// verifies the forwarded access token against the gateway's JWKS and shows its claims.
//
//   GET /api/me        who called (user, session, the access token's claims) and the client's
//                      address as the gateway saw it; 401 `login_required` on a request without a user
//   GET /public/hello  any signed request, with or without a user (PUBLIC_PATH_PREFIXES=/public)
//
// Settings (environment): PORT (8790), GATEWAY_URL (http://127.0.0.1:8787, the gateway's
// ISSUER), AUDIENCE (edge-auth-gateway), ORIGIN_SIGNING_SECRET (a fresh one when unset: it prints
// the `npm run dev` line that gives the gateway the same one).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { GatewayVerificationError, verifyNodeRequest } from "edge-auth-gateway/origin";

const port = Number(process.env.PORT ?? 8790);
const gateway = (process.env.GATEWAY_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
const audience = process.env.AUDIENCE ?? "edge-auth-gateway";
const secretFromEnv = process.env.ORIGIN_SIGNING_SECRET;
// A throwaway for this run only, shown once below so that the gateway can be given it.
const secret = secretFromEnv || randomBytes(32).toString("base64url");
const verifyOptions = { secret, accessToken: { issuer: gateway, audience } };

const server = createServer(async (request, response) => {
  const send = (status, body) => {
    response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(`${JSON.stringify(body, null, 2)}\n`);
    console.log(`${request.method} ${request.url} ${status}`);
  };
  let identity;
  try {
    identity = await verifyNodeRequest(request, verifyOptions);
  } catch (error) {
    if (!(error instanceof GatewayVerificationError)) throw error;
    return send(error.status, { error: error.code, error_description: error.message });
  }
  const path = new URL(request.url ?? "/", "http://origin").pathname;
  if (request.method === "GET" && path === "/api/me") {
    if (identity.user === null) return send(401, { error: "login_required", error_description: "This route needs a signed-in user." });
    return send(200, {
      user: identity.user,
      session: identity.session,
      claims: identity.claims,
      // The gateway replaces whatever the client sent in these with what it saw.
      client: { address: request.headers["x-forwarded-for"] ?? null, proto: request.headers["x-forwarded-proto"] ?? null, host: request.headers["x-forwarded-host"] ?? null },
    });
  }
  if (request.method === "GET" && path === "/public/hello") return send(200, { hello: identity.user ?? "anonymous" });
  return send(404, { error: "not_found", error_description: "GET /api/me or GET /public/hello." });
});

server.listen(port, "127.0.0.1", () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const secretArg = secretFromEnv ? "$ORIGIN_SIGNING_SECRET" : secret;
  console.log(`example origin: listening on ${url}, trusting the gateway at ${gateway}`);
  console.log("example origin: start the gateway in front of it, in another terminal:");
  console.log(`\n    npm run dev -- --var ORIGIN_URL:${url} --var ORIGIN_SIGNING_SECRET:${secretArg} --var PUBLIC_PATH_PREFIXES:/public\n`);
  if (!secretFromEnv) console.log("example origin: that secret is fresh for this run; set ORIGIN_SIGNING_SECRET to keep one.");
});

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
