import * as z from "zod/mini";
import { json, type Parser } from "./parsers";

/**
 * The settings of sign-in through upstream OpenID providers (`OIDC_PROVIDERS`,
 * `OIDC_CLIENT_SECRETS`) and of the gateway's own OAuth clients (`OAUTH_CLIENTS`), as parsers of
 * the settings table. Each refuses a bad value whole, naming where it is wrong and never
 * repeating a value (a secret may be in it).
 */

/** An upstream OpenID provider the gateway signs users in through, as `OIDC_PROVIDERS` lists it. */
export interface UpstreamProvider {
  /** 1 to 32 of `[a-z0-9-]`: the `provider` of `/auth/authorize`, the `idp` claim, the key of `OIDC_CLIENT_SECRETS`. */
  id: string;
  /** Its issuer identifier; discovery is `<issuer>/.well-known/openid-configuration`. */
  issuer: string;
  client_id: string;
  /** Space-separated; `openid` is always sent. */
  scope: string;
}

/** One of the team's own apps, a public client that signs in with PKCE. */
export interface OAuthClient {
  client_id: string;
  /** Compared exactly, character for character (RFC 6749 section 3.1.2, OAuth 2.1 section 7.5.3). */
  redirect_uris: string[];
}

export const PROVIDER_ID = /^[a-z0-9-]{1,32}$/;
export const DEFAULT_SCOPE = "openid email profile";

// The hosts whose plain-http issuers are local providers (development and tests); any other
// issuer must be https, or a network attacker could serve its own keys.
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether `url` is https, or http on this machine. */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname));
}

// RFC 6749 appendix A: client_id and scope tokens are visible ASCII; scope tokens also exclude `"` and `\`.
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

const issuerUrl = z.string().check(
  z.maxLength(512),
  z.refine((value) => {
    const url = URL.canParse(value) ? new URL(value) : null;
    // RFC 8414 section 2: an issuer has no query or fragment.
    return url !== null && isHttpsOrLoopback(url) && url.search === "" && url.hash === "" && !value.includes("#") && !value.includes("?");
  }),
);

const providers = z
  .array(
    z.object({
      id: z.string().check(z.regex(PROVIDER_ID)),
      issuer: issuerUrl,
      client_id: z.string().check(z.maxLength(255), z.regex(VISIBLE_ASCII)),
      scope: z.optional(z.string().check(z.maxLength(512), z.regex(SCOPE))),
    }),
  )
  .check(
    z.maxLength(50),
    z.refine((list) => new Set(list.map((provider) => provider.id)).size === list.length),
  );

/** `OIDC_PROVIDERS`: a JSON array of `{"id","issuer","client_id","scope"?}`; ids unique. */
export const oidcProviders: Parser<UpstreamProvider[]> = mapped(
  json(providers, 'a JSON array of {"id","issuer","client_id","scope"?} (id 1 to 32 of a-z 0-9 -, each once; issuer https://, or http://127.0.0.1 or http://localhost)', []),
  (list) =>
    list.map((provider) => ({
      id: provider.id,
      issuer: provider.issuer,
      client_id: provider.client_id,
      scope: withOpenid(provider.scope ?? DEFAULT_SCOPE),
    })),
);

/** `OIDC_CLIENT_SECRETS`: a JSON object from provider id to client secret. */
export const oidcClientSecrets: Parser<Record<string, string>> = json(
  z.record(z.string().check(z.regex(PROVIDER_ID)), z.string().check(z.minLength(1), z.maxLength(1024))),
  "a JSON object from provider id to client secret",
  {},
);

// A redirect URI: absolute, no fragment (RFC 6749 section 3.1.2), never a scheme that runs or
// reads something in the browser, and plain http only on this machine (OAuth 2.1 section 7.5.1).
const SCRIPTED_SCHEMES = new Set(["javascript:", "data:", "vbscript:", "file:", "blob:", "about:"]);
const redirectUri = z.string().check(
  z.maxLength(512),
  z.refine((value) => {
    if (!URL.canParse(value) || value.includes("#") || /\s/.test(value)) return false;
    const url = new URL(value);
    if (SCRIPTED_SCHEMES.has(url.protocol)) return false;
    return url.protocol !== "http:" || isHttpsOrLoopback(url);
  }),
);

const clients = z
  .array(
    z.object({
      client_id: z.string().check(z.minLength(1), z.maxLength(255), z.regex(VISIBLE_ASCII)),
      redirect_uris: z.array(redirectUri).check(z.minLength(1), z.maxLength(20)),
    }),
  )
  .check(
    z.maxLength(100),
    z.refine((list) => new Set(list.map((client) => client.client_id)).size === list.length),
  );

/** `OAUTH_CLIENTS`: a JSON array of `{"client_id","redirect_uris":[...]}`; client ids unique. */
export const oauthClients: Parser<OAuthClient[]> = json(
  clients,
  'a JSON array of {"client_id","redirect_uris":[...]} (each client_id once; redirect URIs absolute, without fragment, http only on 127.0.0.1 or localhost)',
  [],
);

/** `scope` with `openid` in it: without it a provider answers no ID token. */
function withOpenid(scope: string): string {
  const scopes = scope.split(" ");
  return scopes.includes("openid") ? scope : ["openid", ...scopes].join(" ");
}

function mapped<A, B>(parser: Parser<A>, map: (value: A) => B): Parser<B> {
  return { accepts: parser.accepts, parse: (raw) => map(parser.parse(raw)) };
}
