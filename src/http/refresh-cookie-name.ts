/**
 * The refresh-token cookie of `REFRESH_COOKIE=true`. The `__Host-` prefix makes a browser refuse
 * it unless it is `Secure`, `Path=/` and has no `Domain`, so a sibling subdomain can neither plant
 * nor shadow it.
 */
export const REFRESH_COOKIE_NAME = "__Host-refresh_token";

/** The refresh cookie's earlier name: browsers may still hold one, so it is guarded the same way. */
export const LEGACY_REFRESH_COOKIE_NAME = "refresh_token";
