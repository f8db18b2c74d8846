/**
 * A user id (`sub`) is 1 to 255 printable ASCII characters, `!` to `~` (OpenID Connect's limit):
 * no space, no control character, nothing outside ASCII. It becomes the `X-Auth-User` header and
 * the name of the user's Durable Object, so nothing else may ever pass as one: a trailing space
 * or a line break would turn into another user's id or a broken header.
 */
export const USER_ID_PATTERN = /^[!-~]{1,255}$/;

export function isUserId(value: unknown): value is string {
  return typeof value === "string" && USER_ID_PATTERN.test(value);
}
