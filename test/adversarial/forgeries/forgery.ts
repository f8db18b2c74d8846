// What every table of forged access tokens (test/adversarial/jwt-catalogue.test.ts) is made of.
import { accessTokenClaims } from "../../helpers";
import { compactJws, realKey } from "../attacks";

/** One row of the catalogue: a token that must be refused, and what makes it one. */
export interface Forgery {
  name: string;
  token: () => Promise<string>;
}

/** The claims as JSON text with `raw` values spliced in verbatim (numbers JSON.stringify cannot write, like 1e400). */
export function claimsText(overrides: Record<string, unknown>, raw: Record<string, string> = {}): string {
  let text = JSON.stringify(accessTokenClaims({ ...overrides, ...Object.fromEntries(Object.keys(raw).map((name) => [name, `@@${name}@@`])) }));
  for (const [name, value] of Object.entries(raw)) text = text.replace(`"@@${name}@@"`, value);
  return text;
}

/** The real ES256 key as a signer. */
export const es256 = () => realKey.es256();
/** A compact JWS of the exact header and payload text, signed with the real ES256 key. */
export const signedWithRealKey = async (header: object | string, payload: object | string) => compactJws(header, payload, await es256());
