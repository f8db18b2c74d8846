// The claims hook of the claims-binding project: a Worker reached only through the gateway's
// service binding CLAIMS (vitest.config.ts), with no URL of its own. Like a team's hook, it checks
// the gateway's signature of every call (ORIGIN_SIGNING_SECRET) over the method and the path and
// query it received, records the call under the user it names, and answers
// {"claims":{"via":"binding","call":n}}. `GET /__calls/<sub>` lists a user's calls, for the tests
// (which reach this worker through the same binding).
import { signatureBase } from "../../src/origin/signature-base";

interface HookEnv {
  ORIGIN_SIGNING_SECRET: string;
}

interface Call {
  method: string;
  url: string;
  body: unknown;
  signature: { user: string | null; session: string | null } | { code: string };
}

const calls = new Map<string, Call[]>();
const utf8 = new TextEncoder();

export default {
  async fetch(request: Request, env: HookEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__calls/")) return Response.json(calls.get(decodeURIComponent(url.pathname.slice("/__calls/".length))) ?? []);
    const sub = request.headers.get("X-Auth-User") ?? "";
    const call: Call = { method: request.method, url: request.url, body: await request.json(), signature: await verified(request, url, env.ORIGIN_SIGNING_SECRET) };
    const made = [...(calls.get(sub) ?? []), call];
    calls.set(sub, made);
    return Response.json({ claims: { via: "binding", call: made.length } });
  },
};

/** The signature checked as an origin checks it: HMAC-SHA256 over the signed string, in constant time (WebCrypto's verify), timestamp within 60 s. */
async function verified(request: Request, url: URL, secret: string): Promise<Call["signature"]> {
  const timestamp = request.headers.get("X-Auth-Timestamp");
  const signature = request.headers.get("X-Auth-Signature");
  if (timestamp === null || signature === null || !signature.startsWith("v1=")) return { code: "missing" };
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 60) return { code: "expired" };
  const user = request.headers.get("X-Auth-User");
  const session = request.headers.get("X-Auth-Session");
  const base = signatureBase({ timestamp, method: request.method, pathAndQuery: `${url.pathname}${url.search}`, user, session });
  const mac = Uint8Array.from(atob(signature.slice(3).replace(/-/g, "+").replace(/_/g, "/")), (char) => char.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  return (await crypto.subtle.verify("HMAC", key, mac, utf8.encode(base))) ? { user, session } : { code: "bad_signature" };
}
