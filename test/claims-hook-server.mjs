// Vitest globalSetup (runs in Node, not in workerd): a real claims hook on 127.0.0.1, for the
// claims-hook project (CLAIMS_HOOK_URL points at its /hook). Like a team's hook, it checks the
// gateway's signature of every call (X-Auth-Timestamp, X-Auth-Signature under the tests'
// ORIGIN_SIGNING_SECRET) over the method and request-target as they arrived, and records each
// call under the user it names (X-Auth-User), with the outcome of that check (the origin SDK's). Plain JavaScript
// because the project's TypeScript setup has Workers types, not Node's.
//
//   POST /hook[...]          the hook: answers the next entry of the script of X-Auth-User
//   PUT  /__script/<sub>     what the hook answers <sub>'s calls, in order (the last one repeats)
//   GET  /__calls/<sub>      the calls it received for <sub>, oldest first
//
// A script entry is one of (each may carry `delayMs`, waited before answering):
//   { claims: {...} }                          200 {"claims": {...}}
//   { status, body | bodyBase64, headers? }    exactly that (garbage, invalid JSON, a 500, ...)
//   { redirect: "<url>" }                      302 to it
//   { hang: true }                             never answers
//   { hangBody: true }                         200 and the start of a body, never the rest
//   { endless: true }                          200 and a body that never ends (1 KiB at a time)
// Without a script, call n of a user answers {"claims": {"hooked": true, "call": n}}.
import { createServer } from "node:http";
import { GatewayVerificationError, verifyNodeRequest } from "../src/origin/index.ts";
import { TEST_ORIGIN_SIGNING_SECRET } from "./origin-signing-secret.mjs";

/**
 * @typedef {{ code: string } | { user: string | null, session: string | null }} Outcome
 * @typedef {{ method: string, path: string, search: string, headers: Record<string, string>, body: unknown, signature: Outcome }} Call
 */

/** @param {import("vitest/node").TestProject} project */
export default async function startClaimsHook(project) {
  /** @type {Map<string, Call[]>} */
  const calls = new Map();
  /** @type {Map<string, Array<Record<string, unknown>>>} */
  const scripts = new Map();
  /** @type {Set<import("node:http").ServerResponse>} */
  const hanging = new Set();

  const server = createServer(async (request, response) => {
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(`http://hook.test${request.url ?? "/"}`);

    if (url.pathname.startsWith("/__script/") && request.method === "PUT") {
      scripts.set(decodeURIComponent(url.pathname.slice("/__script/".length)), JSON.parse(text));
      response.writeHead(204).end();
      return;
    }
    if (url.pathname.startsWith("/__calls/")) {
      const sub = decodeURIComponent(url.pathname.slice("/__calls/".length));
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(calls.get(sub) ?? []));
      return;
    }

    const sub = headerText(request.headers["x-auth-user"]) ?? "";
    /** @type {Call} */
    const call = {
      method: request.method ?? "",
      path: url.pathname,
      search: url.search,
      headers: Object.fromEntries(
        ["content-type", "x-auth-user", "x-auth-session", "x-auth-timestamp", "x-auth-signature"].flatMap((name) => {
          const value = headerText(request.headers[name]);
          return value === null ? [] : [[name, value]];
        }),
      ),
      body: parsed(text),
      signature: await verified(request),
    };
    const made = [...(calls.get(sub) ?? []), call];
    calls.set(sub, made);
    const script = scripts.get(sub);
    const entry = script ? (script[made.length - 1] ?? script.at(-1) ?? {}) : { claims: { hooked: true, call: made.length } };
    if (typeof entry.delayMs === "number") await new Promise((resolve) => setTimeout(resolve, entry.delayMs));
    answer(response, entry, hanging);
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("claims hook has no port");
  project.provide("claimsHookUrl", `http://127.0.0.1:${address.port}`);

  return async function stopClaimsHook() {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  };
}

/**
 * @param {import("node:http").ServerResponse} response
 * @param {Record<string, any>} entry
 * @param {Set<import("node:http").ServerResponse>} hanging
 */
function answer(response, entry, hanging) {
  if (entry.hang) {
    hanging.add(response);
    return;
  }
  if (entry.hangBody) {
    hanging.add(response);
    response.writeHead(200, { "Content-Type": "application/json" });
    response.write('{"claims":');
    return;
  }
  if (entry.endless) {
    hanging.add(response);
    response.writeHead(200, { "Content-Type": "application/json" });
    response.write('{"claims":{}');
    const spaces = " ".repeat(1024);
    const more = () => {
      while (!response.destroyed && response.write(spaces));
      if (!response.destroyed) response.once("drain", more);
    };
    response.on("close", () => hanging.delete(response));
    more();
    return;
  }
  if (typeof entry.redirect === "string") {
    response.writeHead(302, { Location: entry.redirect }).end();
    return;
  }
  if (typeof entry.status === "number") {
    const body = typeof entry.bodyBase64 === "string" ? Buffer.from(entry.bodyBase64, "base64") : (entry.body ?? "");
    response.writeHead(entry.status, { "Content-Type": "application/json", ...(entry.headers ?? {}) }).end(body);
    return;
  }
  response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ claims: entry.claims ?? {} }));
}

/**
 * The gateway's signature of a call, checked with the origin SDK as a hook on Node would check
 * it (`verifyNodeRequest`: the request-target as it arrived, constant time, 60 s): the identity,
 * or the error's code.
 * @param {import("node:http").IncomingMessage} request
 * @returns {Promise<Outcome>}
 */
async function verified(request) {
  try {
    const { user, session } = await verifyNodeRequest(request, { secret: TEST_ORIGIN_SIGNING_SECRET });
    return { user, session };
  } catch (error) {
    if (error instanceof GatewayVerificationError) return { code: error.code };
    throw error;
  }
}

/** @param {string | string[] | undefined} value */
function headerText(value) {
  return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
}

/** @param {string} text */
function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
