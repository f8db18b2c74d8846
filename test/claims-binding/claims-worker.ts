// The claims hook of the claims-binding project: a Worker reached only through the gateway's
// service binding CLAIMS (vitest.config.ts), with no URL of its own. Like a team's hook, it checks
// the gateway's signature of every call with the origin SDK (ORIGIN_SIGNING_SECRET) over the
// method and the path and query it received, records the call under the user it names, and answers
// {"claims":{"via":"binding","call":n}}. `GET /__calls/<sub>` lists a user's calls, for the tests
// (which reach this worker through the same binding).
import { GatewayVerificationError, verifyGatewayRequest } from "../../src/origin/index";

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

export default {
  async fetch(request: Request, env: HookEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__calls/")) return Response.json(calls.get(decodeURIComponent(url.pathname.slice("/__calls/".length))) ?? []);
    const sub = request.headers.get("X-Auth-User") ?? "";
    const signature = await verified(request, env.ORIGIN_SIGNING_SECRET);
    const call: Call = { method: request.method, url: request.url, body: await request.json(), signature };
    const made = [...(calls.get(sub) ?? []), call];
    calls.set(sub, made);
    return Response.json({ claims: { via: "binding", call: made.length } });
  },
};

/** The signature checked with the origin SDK, as a Worker hook would check it: the identity, or the error's code. */
async function verified(request: Request, secret: string): Promise<Call["signature"]> {
  try {
    const { user, session } = await verifyGatewayRequest(request, { secret });
    return { user, session };
  } catch (error) {
    if (error instanceof GatewayVerificationError) return { code: error.code };
    throw error;
  }
}
