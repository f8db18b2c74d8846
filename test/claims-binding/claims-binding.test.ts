import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, pairOf, refresh, uniqueSub } from "../helpers";
import { ageClaims, customClaims } from "../claims-hook/hook";

// A claims hook that is a Worker behind the service binding CLAIMS (vitest.config.ts's
// claims-binding project: test/claims-binding/claims-worker.ts, which checks the signature with
// the secret of its own binding). No CLAIMS_HOOK_URL: the binding alone turns the hook on.

interface BindingCall {
  method: string;
  url: string;
  body: unknown;
  signature: { user: string | null; session: string | null } | { code: string };
}

async function bindingCalls(sub: string): Promise<BindingCall[]> {
  return (await env.CLAIMS!.fetch(`https://claims.invalid/__calls/${encodeURIComponent(sub)}`)).json();
}

describe("claims hook through the service binding CLAIMS", () => {
  it("asks the bound worker when a session opens, signed over its path /, and signs the access token with its answer", async () => {
    const sub = uniqueSub("binding");
    const pair = await openSession(sub, { plan: "pro" });
    expect(await bindingCalls(sub)).toEqual([
      {
        method: "POST",
        url: "https://claims.invalid/",
        body: { sub, sid: pair.session_id, amr: ["adm"], claims: { plan: "pro" } },
        signature: { user: sub, session: pair.session_id },
      },
    ]);
    expect(customClaims(pair.access_token)).toEqual({ via: "binding", call: 1 });
  });

  it("asks it again on a refresh whose claims are due, and not before", async () => {
    const sub = uniqueSub("binding");
    const opened = await openSession(sub);
    const fresh = await pairOf(await refresh(opened.refresh_token));
    expect(customClaims(fresh.access_token)).toEqual({ via: "binding", call: 1 });
    await ageClaims(sub, opened.session_id, 300);
    const due = await pairOf(await refresh(fresh.refresh_token));
    expect(customClaims(due.access_token)).toEqual({ via: "binding", call: 2 });
    expect(await bindingCalls(sub)).toHaveLength(2);
  });

  it("takes the path and query of CLAIMS_HOOK_URL when it is set too, and sends nothing to that URL", async () => {
    const sub = uniqueSub("binding");
    // Nothing listens on port 9: had the gateway used the URL, the hook would be unreachable.
    const pair = await openSession(sub, undefined, { CLAIMS_HOOK_URL: "http://127.0.0.1:9/claims?tenant=a" });
    const [call] = await bindingCalls(sub);
    expect(call!.url).toBe("http://127.0.0.1:9/claims?tenant=a");
    expect(call!.signature).toEqual({ user: sub, session: pair.session_id });
    expect(customClaims(pair.access_token)).toEqual({ via: "binding", call: 1 });
  });
});
