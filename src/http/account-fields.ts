import * as z from "zod/mini";
import { rule } from "./validation";

/** The fields the account routes share, with the contract's rules (docs/api.md, "Accounts"). */

export const Username = z
  .string(rule("must be 3 to 64 characters of letters, digits and . _ @ -"))
  .check(z.minLength(3), z.maxLength(64), z.regex(/^[A-Za-z0-9._@-]+$/));

/** A password being set (register, reset, change). */
export const NewPassword = z.string(rule("must be 8 to 256 characters")).check(z.minLength(8), z.maxLength(256));

/** A password being checked: any up to the longest one can set; a short one is just wrong (401). */
export const PresentedPassword = z.string(rule("must be 1 to 256 characters")).check(z.minLength(1), z.maxLength(256));

/** RFC 5321 section 4.5.3.1.3: a path of at most 256 octets, so an address of at most 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * An e-mail address: at most 254 characters, a local part and a domain of dot-separated labels
 * (zod's pragmatic rule, no quoted local parts, no IP literals), lowercased: the form it is
 * stored and compared in, so two spellings of one address are one address.
 */
export const Email = z.pipe(
  z.string(rule(`must be an e-mail address of at most ${MAX_EMAIL_LENGTH} characters`)).check(
    z.maxLength(MAX_EMAIL_LENGTH, rule(`must be an e-mail address of at most ${MAX_EMAIL_LENGTH} characters`)),
    z.email(rule(`must be an e-mail address of at most ${MAX_EMAIL_LENGTH} characters`)),
  ),
  z.transform((email: string) => email.toLowerCase()),
);
