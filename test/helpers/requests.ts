// Requests through the worker's real fetch handler, and the requests the tests send most.
import { env, exports } from "cloudflare:workers";
import worker from "../../src/index";

export const ADMIN_TOKEN = "test-admin-token";

export const BASE = "http://gateway.test";

/** Variable overrides for one call, as `wrangler dev --var NAME:VALUE` would set them. */
export type Vars = Partial<Record<keyof Env, string>>;

/**
 * Sends a request through the worker's real fetch handler with the real bindings. With `vars`,
 * the worker sees those variables overridden (a fresh env object, so config is re-read).
 */
export function call(path: string, init: RequestInit = {}, vars?: Vars): Promise<Response> {
  const request = new Request(new URL(path, BASE), init);
  if (!vars) return Promise.resolve(exports.default.fetch(request));
  return Promise.resolve(worker.fetch(request, { ...env, ...vars } as Env, {
    waitUntil() {},
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext));
}

/**
 * Like `call`, but the worker sees `rawPath` exactly as a client wrote it on the request line
 * (`curl --path-as-is`), dot segments and backslashes included: `new Request()` would normalise
 * them away, while a runtime or proxy in front of the worker need not.
 */
export function callAsSent(rawPath: string, init: RequestInit = {}, vars?: Vars): Promise<Response> {
  const request = new Request(BASE, init);
  Object.defineProperty(request, "url", { value: `${BASE}${rawPath}` });
  return Promise.resolve(worker.fetch(request, { ...env, ...(vars ?? {}) } as Env, {
    waitUntil() {},
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}, vars?: Vars) {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) }, vars);
}

export function bearer(accessToken: string): Record<string, string> {
  return { Authorization: `Bearer ${accessToken}` };
}

export const adminHeaders = { Authorization: `Bearer ${ADMIN_TOKEN}` };

/** The `CF-Connecting-IP` header of a client at `ip`. */
export function fromIp(ip: string): Record<string, string> {
  return { "CF-Connecting-IP": ip };
}

/** The password of the accounts tests register. */
export const PASSWORD = "correct horse battery";

/** POST /auth/register. */
export function register(username: unknown, password: unknown = PASSWORD, headers: Record<string, string> = {}, vars?: Vars) {
  return postJson("/auth/register", { username, password }, headers, vars);
}

/** POST /auth/login. */
export function login(username: unknown, password: unknown, headers: Record<string, string> = {}, vars?: Vars) {
  return postJson("/auth/login", { username, password }, headers, vars);
}

/** POST /auth/refresh with a JSON body. */
export function refresh(refreshToken: string, vars?: Vars) {
  return postJson("/auth/refresh", { refresh_token: refreshToken }, {}, vars);
}

/** POST /auth/refresh as an RFC 6749 section 6 form request. */
export function refreshForm(refreshToken: string, vars?: Vars) {
  const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken });
  return call("/auth/refresh", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }, vars);
}

/** Both encodings `POST /auth/refresh` takes, for `describe.each`. */
export const refreshTransports = [
  { name: "JSON", send: (refreshToken: string) => refresh(refreshToken) },
  { name: "form", send: (refreshToken: string) => refreshForm(refreshToken) },
];

/** A body without a Content-Length: streamed in chunks, as a chunked upload arrives. */
export function streamed(text: string, chunkBytes = 1000): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunkBytes));
      offset += chunkBytes;
    },
  });
}
