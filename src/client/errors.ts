import type { ErrorBody } from "../wire/index.js";

/**
 * The codes an `AuthClientError` carries: the gateway's own `error` codes (`invalid_credentials`,
 * `username_taken`, `too_many_requests`, `invalid_grant`, ...) as the server sent them, and the
 * client's:
 *
 * - `logged_out`: there is no session (never logged in, logged out, or its refresh was refused);
 * - `network_error`: the gateway could not be reached (for a refresh: not within the retry window),
 *   or, for a page on another origin, the browser refused its answer by CORS: the message then asks
 *   whether the page's origin is in the gateway's `ALLOWED_ORIGINS`;
 * - `bad_response`: the gateway answered something that is not its contract.
 */
export type AuthClientErrorCode = "logged_out" | "network_error" | "bad_response" | (string & {});

/**
 * The one error type of the client, with a stable `code` to `switch` on.
 *
 * @example
 * try {
 *   await auth.login(username, password);
 * } catch (error) {
 *   if (error instanceof AuthClientError && error.code === "invalid_credentials") showWrongPassword();
 *   else throw error;
 * }
 */
export class AuthClientError extends Error {
  override readonly name = "AuthClientError";

  constructor(
    readonly code: AuthClientErrorCode,
    message: string,
    /** The HTTP status of the gateway's answer; null when there was none. */
    readonly status: number | null = null,
    /** From `Retry-After` on a 429. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** The `AuthClientError` for an error answer of the gateway (`{"error","error_description"}`). */
export async function errorFromResponse(response: Response): Promise<AuthClientError> {
  let body: { [field in keyof ErrorBody]?: unknown } = {};
  try {
    body = await response.json();
  } catch {
    // Not the gateway's JSON (a proxy's page, say): the status says enough.
  }
  const code = typeof body.error === "string" ? body.error : `http_${response.status}`;
  const description = typeof body.error_description === "string" ? body.error_description : `The gateway answered ${response.status}.`;
  const retryAfter = Number(response.headers.get("Retry-After"));
  return new AuthClientError(code, description, response.status, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}

export const loggedOut = () => new AuthClientError("logged_out", "Not logged in.");
