// Vitest globalSetup (runs in Node, not in workerd): a real HTTP origin on 127.0.0.1 for the
// gateway's proxy tests. It records every request it receives and answers with a recognisable
// response. Plain JavaScript because the project's TypeScript setup has Workers types, not Node's.
//
// Test files run in parallel and share this one server, so requests are recorded per scope: a
// test points ORIGIN_URL at `<origin>/scope/<id>`, the gateway prefixes every forwarded path with
// that base path, and the server files the request under `<id>` with the prefix removed.
//
//   GET  /__log/<id>    the requests of scope <id>, oldest first
//   GET  /__log         the requests that arrived outside any scope
//   POST /__reset       forget everything
//
// Every other request is recorded and answered with status `X-Test-Status` (default 200), the
// headers `X-Origin: test-origin` and `Set-Cookie: origin=1`, and a text body naming what it saw.
// An `X-Test-Location` header makes it answer with that `Location` (to check redirects pass back),
// `X-Test-Set-Cookie` (a JSON array of strings) adds those `Set-Cookie` headers after its own, and
// `X-Test-Headers` (a JSON object) adds those response headers (e.g. CORS headers of its own).
//
// Like a real origin, it checks the gateway's signature of every request (X-Auth-Timestamp and
// X-Auth-Signature, under TEST_ORIGIN_SIGNING_SECRET, which every workerd project binds as
// ORIGIN_SIGNING_SECRET) with the origin SDK, over the method and the request-target exactly as
// it arrived, base path included. The two headers are recorded apart from the others, under
// `signature`, with the outcome: `verified` ({user, session}) or the error `code`. A request
// with `X-Test-Verify-Python: 1` is checked by examples/verify_gateway.py as well (`python`:
// {user, session}, {code}, or "unavailable" without python3).
import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { GatewayVerificationError, verifyNodeRequest } from "../src/origin/index.ts";
import { TEST_ORIGIN_SIGNING_SECRET } from "./origin-signing-secret.mjs";

/**
 * @typedef {{ user: string | null, session: string | null } | { code: string }} Outcome
 * @typedef {{ timestamp: string | null, value: string | null, outcome: Outcome, python?: Outcome | "unavailable" }} Signature
 * @typedef {{ method: string, path: string, search: string, query: Record<string, string[]>, headers: Record<string, string>, body: string, bodyBase64: string, signature: Signature }} Recorded
 */

/** @param {import("vitest/node").TestProject} project */
export default async function startOrigin(project) {
  /** @type {Map<string, Recorded[]>} */
  const scopes = new Map();
  /** @type {Recorded[]} */
  let unscoped = [];

  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    // Prefixed, not resolved: a request-target such as `//x/y` is a path here, not a host.
    const url = new URL(`http://origin.test${request.url ?? "/"}`);

    if (url.pathname === "/__reset" && request.method === "POST") {
      scopes.clear();
      unscoped = [];
      response.writeHead(204).end();
      return;
    }
    if (url.pathname === "/__log" || url.pathname.startsWith("/__log/")) {
      const id = url.pathname.slice("/__log/".length);
      const log = id ? (scopes.get(id) ?? []) : unscoped;
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(log));
      return;
    }

    const scoped = /^\/scope\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const { "x-auth-timestamp": timestamp, "x-auth-signature": value, ...others } = request.headers;
    /** @type {Recorded} */
    const entry = {
      method: request.method ?? "",
      path: scoped ? (scoped[2] ?? "") : url.pathname,
      search: url.search,
      query: groupQuery(url.searchParams),
      headers: /** @type {Record<string, string>} */ (Object.fromEntries(
        Object.entries(others).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]),
      )),
      body: body.toString("utf8"),
      bodyBase64: body.toString("base64"),
      signature: { timestamp: headerText(timestamp), value: headerText(value), outcome: await outcomeOf(() => verifyNodeRequest(request, { secret: TEST_ORIGIN_SIGNING_SECRET })) },
    };
    if (request.headers["x-test-verify-python"] === "1") entry.signature.python = await verifiedByPython(request);
    if (scoped) {
      const id = /** @type {string} */ (scoped[1]);
      scopes.set(id, [...(scopes.get(id) ?? []), entry]);
    } else {
      unscoped.push(entry);
    }

    const status = Number(request.headers["x-test-status"] ?? 200);
    /** @type {Record<string, string | string[]>} */
    const headers = { "Content-Type": "text/plain", "X-Origin": "test-origin", "Set-Cookie": "origin=1; Path=/" };
    const location = request.headers["x-test-location"];
    if (typeof location === "string") headers.Location = location;
    const setCookies = request.headers["x-test-set-cookie"];
    if (typeof setCookies === "string") headers["Set-Cookie"] = ["origin=1; Path=/", ...JSON.parse(setCookies)];
    const extra = request.headers["x-test-headers"];
    if (typeof extra === "string") Object.assign(headers, JSON.parse(extra));
    response.writeHead(status, headers);
    response.end(status === 204 || status === 304 || request.method === "HEAD" ? undefined : `origin saw ${entry.method} ${entry.path}`);
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("origin server has no port");
  project.provide("originUrl", `http://127.0.0.1:${address.port}`);

  return async function stopOrigin() {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  };
}

/** @param {string | string[] | undefined} value */
function headerText(value) {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}

/**
 * What a verification came to: the identity, or the error code.
 * @param {() => Promise<{ user: string | null, session: string | null }>} verify
 * @returns {Promise<Outcome>}
 */
async function outcomeOf(verify) {
  try {
    const { user, session } = await verify();
    return { user, session };
  } catch (error) {
    if (error instanceof GatewayVerificationError) return { code: error.code };
    throw error;
  }
}

// Runs examples/verify_gateway.py's function on the request as received: method, request-target,
// headers with lower-case names (as Node gives them).
const PYTHON_DRIVER = `
import json, sys
sys.path.insert(0, sys.argv[1])
from verify_gateway import GatewayVerificationError, verify_gateway_request
request = json.load(sys.stdin)
try:
    user, session = verify_gateway_request(request["method"], request["target"], request["headers"], request["secret"])
    print(json.dumps({"user": user, "session": session}))
except GatewayVerificationError as error:
    print(json.dumps({"code": error.code}))
`;

/**
 * @param {import("node:http").IncomingMessage} request
 * @returns {Promise<Outcome | "unavailable">}
 */
function verifiedByPython(request) {
  const input = JSON.stringify({ method: request.method, target: request.url, headers: request.headers, secret: TEST_ORIGIN_SIGNING_SECRET });
  const examples = fileURLToPath(new URL("../examples", import.meta.url));
  return new Promise((resolve) => {
    const child = execFile("python3", ["-c", PYTHON_DRIVER, examples], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error && /** @type {NodeJS.ErrnoException} */ (error).code === "ENOENT") return resolve("unavailable");
      // Recorded, so that the test that asked shows it.
      if (error) return resolve({ code: `python3 failed: ${stderr || error.message}` });
      resolve(JSON.parse(stdout));
    });
    child.stdin?.end(input);
  });
}

/** @param {URLSearchParams} params */
function groupQuery(params) {
  /** @type {Record<string, string[]>} */
  const grouped = {};
  for (const [name, value] of params) (grouped[name] ??= []).push(value);
  return grouped;
}
