import { tooManyRequests } from "../errors/auth-error";
import { ipThrottleKey } from "./client-address";
import { addressThrottle } from "./login-guard";

/**
 * Counts a registration from the client's address and throws 429 `too_many_requests` once
 * `REGISTRATIONS_PER_IP_PER_HOUR` were made in the last hour: each one costs a password hash, and
 * mass sign-ups are abuse. Every attempt counts, taken usernames included, so `409` cannot be
 * used to enumerate accounts at speed. The count lives in the address's LoginThrottle object,
 * beside its login failures. Forgot-password requests count here too (each can cost a message to
 * someone's inbox), with their own `refusal`. Without `CF-Connecting-IP` no limit applies.
 */
export async function countRegistration(env: Env, ip: string | null, refusal = "Too many registrations from this address."): Promise<void> {
  if (ip === null) return;
  const grant = await addressThrottle(env, ipThrottleKey(ip)).countRegistration();
  if (!grant.allowed) throw tooManyRequests(refusal, grant.retryAfterSeconds);
}
