import { BadValue, type Parser } from "./parsers";

/**
 * `WEBAUTHN_RP_ID`: the domain passkeys are bound to (WebAuthn section 5.1.2, the RP ID): a
 * lowercase DNS name, no scheme, port or path. Browsers refuse an IP address as RP ID, so one is
 * a bad value here rather than a registration that can never work.
 */
export const rpId: Parser<string> = {
  accepts: "a domain name (`example.com`, `localhost`), not an IP address",
  parse(raw) {
    const value = raw.toLowerCase();
    if (!DOMAIN.test(value) || value.length > 253 || IPV4.test(value)) {
      throw new BadValue(`must be a domain name like example.com or localhost (no scheme, port, path or IP address), got "${raw}".`);
    }
    return value;
  },
};

// Labels of letters, digits and inner hyphens (IDNs in punycode), dot-separated.
const DOMAIN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d+(?:\.\d+){3}$/;

/** `WEBAUTHN_RP_NAME`: the name an authenticator shows beside the passkey; 1 to 64 characters. */
export const rpName: Parser<string> = {
  accepts: "text, 1 to 64 characters",
  parse(raw) {
    if (raw.length < 1 || raw.length > 64) throw new BadValue(`must be 1 to 64 characters, got ${raw.length}.`);
    return raw;
  },
};

/** Whether `origin` (a full origin) may carry passkeys of `rpId`: its host is the RP ID or a subdomain of it (WebAuthn section 5.1.3). */
export function originMatchesRpId(origin: string, rpId: string): boolean {
  const host = new URL(origin).hostname;
  return host === rpId || host.endsWith(`.${rpId}`);
}
