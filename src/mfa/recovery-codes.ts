/**
 * Recovery codes: ten per set, each 60 random bits (12 characters of a 32-letter alphabet without
 * 0/O and 1/I/L look-alikes), shown once as `xxxx-xxxx-xxxx` and stored only as a SHA-256 of
 * their normalized form, salted with the user's object id so that one table of hashes cannot
 * serve every user. 60 bits are far beyond online guessing (wrong codes are counted), and make
 * an offline search of a leaked hash cost years of GPU time per code.
 */

export const RECOVERY_CODES_PER_SET = 10;
const CODE_LENGTH = 12;
const GROUP = 4;
// Crockford's base32 alphabet, lowercase: no i, l, o, u.
const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

/** A new set of recovery codes, formatted for people. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODES_PER_SET }, () => {
    // 5 bits from each random byte: 32 divides 256, so every letter is equally likely.
    const letters = Array.from(crypto.getRandomValues(new Uint8Array(CODE_LENGTH)), (byte) => ALPHABET[byte & 31]!).join("");
    return letters.match(new RegExp(`.{${GROUP}}`, "g"))!.join("-");
  });
}

/**
 * A presented recovery code as it is hashed: lowercase, without the dashes and spaces people
 * type, with the look-alikes Crockford's alphabet folds (o to 0, i and l to 1); null when it
 * cannot be one.
 */
export function normalizeRecoveryCode(code: string): string | null {
  const folded = code.toLowerCase().replace(/[\s-]/g, "").replace(/o/g, "0").replace(/[il]/g, "1");
  return folded.length === CODE_LENGTH && [...folded].every((letter) => ALPHABET.includes(letter)) ? folded : null;
}

/** The stored form of a normalized recovery code: SHA-256 hex of the object id and the code. */
export async function recoveryCodeHash(objectId: string, normalized: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`recovery-code\n${objectId}\n${normalized}`)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
