import { REGISTERED_CLAIMS } from "./access";

/**
 * How and when the user signed in, as access-token claims: `amr` (RFC 8176 authentication
 * method references) and `auth_time` (OpenID Connect Core section 2), which every way in sets
 * and every refresh keeps, so an origin can ask for a recent or a multi-factor sign-in; and
 * `idp`, the upstream provider of a federated sign-in.
 */

/**
 * The `amr` values the gateway uses (RFC 8176 section 2): `pwd` a password, `otp` a one-time
 * code, `mfa` more than one factor, `hwk` a hardware-bound key (a passkey), `user` user presence
 * and verification, `fed` an upstream identity provider, and `adm`, our own, a session an
 * administrator's back end opened through the admin route.
 */
export const AMR_VALUES = ["pwd", "otp", "mfa", "hwk", "user", "fed", "adm"] as const;

export type Amr = (typeof AMR_VALUES)[number];

/** Claims only the gateway sets: a session's custom claims (the admin route, a claims hook) may not name them. */
export const GATEWAY_CLAIMS = [...REGISTERED_CLAIMS, "cnf", "amr", "auth_time", "idp"] as const;

