import type { Next } from "hono";
import type { AppContext } from "../http/context";
import { DEMO_SCRIPT } from "./app-script.js";
import { DEMO_CSS, demoPage } from "./page";
import { devInbox } from "../events/dev-inbox";

// The page loads only its own script and style, and talks only to this gateway.
const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/**
 * The demo app at `/demo` (`/demo/app.js`, `/demo/demo.css`) when `DEMO` is `true`: register, log
 * in, call the echo API through the gateway, watch the access token expire and refresh, list and
 * revoke sessions, replay a stolen refresh token, and walk through the account lifecycle with a
 * dev inbox (`/demo/inbox`, local dev only: `DEV_MESSAGE_LOG` on and no `WEBHOOK_URL`). With `DEMO` off these are ordinary gateway
 * paths (`next()` goes on to the gateway).
 */
export async function demo(c: AppContext, next: Next): Promise<Response | void> {
  const config = c.get("config");
  if (!config.demo) return next();
  switch (c.req.path) {
    case "/demo":
    case "/demo/":
      return c.html(
        demoPage({
          devInbox: config.devMessageLog && config.webhooks.url === null,
          refreshCookie: config.refreshCookie,
          accessTokenTtlSeconds: config.accessTokenTtlSeconds,
          issuer: config.issuer.replace(/\/+$/, ""),
          providers: config.federation.providers.map((provider) => provider.id),
        }),
        200,
        SECURITY_HEADERS,
      );
    case "/demo/app.js":
      return c.body(DEMO_SCRIPT, 200, { ...SECURITY_HEADERS, "Content-Type": "text/javascript; charset=utf-8" });
    case "/demo/demo.css":
      return c.body(DEMO_CSS, 200, { ...SECURITY_HEADERS, "Content-Type": "text/css; charset=utf-8" });
    case "/demo/inbox":
      // Local dev only: the codes and reset links the log got, when there is no receiver to send
      // them to. Anywhere else this is a gateway path like any other.
      if (!config.devMessageLog || config.webhooks.url !== null) return next();
      return c.json({ messages: devInbox() }, 200, SECURITY_HEADERS);
    default:
      return next();
  }
}
