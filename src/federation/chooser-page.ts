import type { UpstreamProvider } from "../config/federation";

/**
 * The page `GET /auth/authorize` answers without `provider`: one link per configured provider,
 * each the same request plus `provider=<id>`. Plain HTML, no script, no inline style, served under
 * `CHOOSER_HEADERS`' strict CSP (nothing loads, no form posts, no framing).
 */
export const CHOOSER_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};

/** The chooser for `query` (the request as it came, already checked) and the configured providers. */
export function chooserPage(query: URLSearchParams, providers: readonly UpstreamProvider[], clientId: string): string {
  const links = providers.map((provider) => {
    const href = new URLSearchParams(query);
    href.set("provider", provider.id);
    return `  <li><a href="/auth/authorize?${escapeHtml(href.toString())}">Sign in with ${escapeHtml(provider.id)}</a></li>`;
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Sign in</title>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>${escapeHtml(clientId)} asks you to sign in.</p>
${links.length > 0 ? `<ul>\n${links.join("\n")}\n</ul>` : "<p>No sign-in provider is configured (OIDC_PROVIDERS).</p>"}
</main>
</body>
</html>
`;
}

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
