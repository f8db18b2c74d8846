// Sign in with an upstream OpenID provider, and link one to the account: the gateway is this
// page's OAuth server (client `edge-auth-demo`, redirect URI this page in its mode), with PKCE.
import { dpop, storage, USERNAME_KEY } from "../app/mode.js";
import { $, log, secondsLeft, short } from "../app/ui.js";

/** This page in its mode, as the gateway registers it for the demo client (exactly). */
function redirectUri() {
  return `${document.body.dataset.issuer}/demo?storage=${storage}${dpop ? "&dpop=1" : ""}`;
}

const APP = { clientId: "edge-auth-demo", redirectUri: redirectUri() };

/** Wires a "Sign in with" and a "Link" button per configured provider, and finishes a sign-in or link the page returns from. */
export function mountFederation({ auth, counts, attempt, render }) {
  const providers = (document.body.dataset.providers ?? "").split(",").filter(Boolean);
  const box = $("federation");
  if (providers.length === 0) {
    box.textContent = "No upstream provider: start one with npm run idp, then npm run dev with the OIDC_PROVIDERS line it prints.";
    return;
  }
  for (const provider of providers) {
    const signIn = document.createElement("button");
    signIn.type = "button";
    signIn.dataset.signInWith = provider;
    signIn.textContent = `Sign in with ${provider}`;
    signIn.addEventListener("click", () => attempt("sign-in", async () => location.assign(await auth.signInUrl(APP, provider))));
    const link = document.createElement("button");
    link.type = "button";
    link.dataset.link = provider;
    link.className = "when-logged-in";
    link.textContent = `Link ${provider}`;
    link.addEventListener("click", () => attempt("link", async () => location.assign(await auth.linkIdentityUrl(provider))));
    box.append(signIn, " ", link, " ");
  }

  // Back from the gateway: a code (or an error) for this tab's sign-in, or the end of a link.
  const back = new URL(location.href);
  const linked = back.searchParams.get("linked");
  if (linked) log(`Linked your ${linked} identity: it now signs in as this account.`, "good");
  if (back.searchParams.has("error") && !back.searchParams.has("state")) log(`Linking failed: ${back.searchParams.get("error")}.`, "bad");
  if (back.searchParams.has("code") || back.searchParams.has("state")) {
    void attempt("sign-in", async () => {
      const session = await auth.completeSignIn(location.href);
      if (!session) return;
      localStorage.setItem(USERNAME_KEY, `a ${session.tokenType === "DPoP" ? "DPoP-bound " : ""}federated user`);
      counts.here = counts.elsewhere = 0;
      log(`Signed in through the provider: session ${short(session.sessionId)}, access token valid ${secondsLeft(session)} s.`, "good");
    }).finally(() => {
      history.replaceState(null, "", `/demo?storage=${storage}${dpop ? "&dpop=1" : ""}`);
      render();
    });
  } else if (linked || back.searchParams.has("error")) {
    history.replaceState(null, "", "/demo");
  }
}
