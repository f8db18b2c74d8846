import { createMiddleware } from "hono/factory";
import { dpopRefusal } from "../errors/refusals";
import { logRefusal } from "../errors/verdict";
import type { PresentedProof } from "../sessions/rpc";
import { verifyDpopProof } from "../tokens/dpop";
import type { AppEnv } from "./context";

/**
 * For the session requests (login, refresh, logout, admin sessions): checks the `DPoP` header
 * against the request and puts the proof on the context (`c.get("dpop")`, null without one).
 * With `DPOP=required`, a request that hands out tokens (`issuesTokens`: login, admin session,
 * refresh) and has no header is refused before anything else. A header that is not a valid proof
 * is refused whatever the setting, so nothing changes on a request whose proof does not check out;
 * the reason goes to the log. Whether a proof binds the session is the UserAuth object's business:
 * only the request that opens a session binds it, a refresh never does.
 */
export function dpopProof({ issuesTokens }: { issuesTokens: boolean }) {
  return createMiddleware<AppEnv>(async function checkDpopProof(c, next) {
    const config = c.get("config");
    const header = c.req.header("DPoP");
    if (header === undefined) {
      if (issuesTokens && config.dpop === "required") {
        logRefusal("dpop_proof", "required");
        throw dpopRefusal("required");
      }
      c.set("dpop", null);
      return next();
    }
    const result = await verifyDpopProof(header, {
      method: c.req.method,
      url: c.req.url,
      nowSeconds: Date.now() / 1000,
      clockSkewSeconds: config.clockSkewSeconds,
    });
    if (!result.ok) {
      logRefusal("dpop_proof", result.reason);
      throw dpopRefusal(result.reason);
    }
    c.set("dpop", result.proof satisfies PresentedProof);
    return next();
  });
}
