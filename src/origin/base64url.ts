// base64url without padding (RFC 4648 section 5), in its one canonical spelling: decoders forgive
// `=` padding and stray low bits in the last character, which would give one MAC or token many
// spellings. Uses only `atob`/`btoa`, which every Fetch-API runtime has.

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** The bytes' base64url text, without padding. */
export function encodeBase64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a canonical base64url text, or null for anything else (padding, other characters, stray bits). */
export function decodeBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  // Canonical means it encodes back to itself: no data in the last character's unused bits.
  return encodeBase64url(bytes) === text ? bytes : null;
}
