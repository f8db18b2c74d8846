// The error answer every refusal of the gateway has.
import { expect } from "vitest";

/**
 * Asserts an error answer as the gateway gives every one: `status` and a body of exactly
 * `{ error, error_description }`. Returns the description.
 */
export async function expectError(response: Response, status: number, error: string): Promise<string> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body).toEqual({ error, error_description: expect.any(String) });
  return body.error_description;
}

/** Asserts a refused refresh token: 400 `invalid_grant` (RFC 6749 section 5.2). */
export async function expectInvalidGrant(response: Response): Promise<void> {
  await expectError(response, 400, "invalid_grant");
}
