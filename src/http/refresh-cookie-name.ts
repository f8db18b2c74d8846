/**
 * The refresh-token cookie of cookie mode. The `__Host-` prefix makes browsers accept it only
 * with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain can neither plant nor shadow it.
 */
export const REFRESH_COOKIE_NAME = "__Host-refresh_token";
