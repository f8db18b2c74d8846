// What the token routes answer: a session's tokens, the session list, discovery, introspection, and the echo origin.

/**
 * What login, refresh and `POST /auth/admin/sessions` answer (RFC 6749 section 5.1, with the
 * session's id). `token_type` is `DPoP` for a session bound to a DPoP key (RFC 9449 section 5).
 */
export interface TokenResponse {
  access_token: string;
  token_type: "Bearer" | "DPoP";
  /** Seconds the access token lives. */
  expires_in: number;
  refresh_token: string;
  session_id: string;
}

/** One active session in `GET /auth/sessions`. Times are ISO 8601. */
export interface SessionListItem {
  id: string;
  created_at: string;
  last_used_at: string;
  /** When the session ends at the latest; null when sessions do not expire. */
  expires_at: string | null;
  user_agent: string | null;
  ip: string | null;
  /** How the user signed in (RFC 8176); null for a session opened before it was stored. */
  amr: string[] | null;
  /** When the user proved who they are for this session. */
  auth_time: string;
  /** Whether this is the session of the access token that asked. */
  current: boolean;
}

/** `GET /auth/sessions`. */
export interface SessionList {
  sessions: SessionListItem[];
}

/** `GET /.well-known/oauth-authorization-server` (RFC 8414 section 2). */
export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  introspection_endpoint: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
  code_challenge_methods_supported: string[];
  /** RFC 9207: every authorization response carries `iss`. */
  authorization_response_iss_parameter_supported: boolean;
}

/**
 * `POST /auth/introspect` (RFC 7662 section 2.2): `{"active": false}` alone for a token that is
 * not active; for an active one, who and which session it is, its times (epoch seconds), how the
 * user signed in, and for a DPoP-bound token its key's thumbprint (RFC 9449 section 6.2).
 */
export type IntrospectionResponse =
  | { active: false }
  | {
      active: true;
      sub: string;
      sid: string;
      exp: number;
      iat: number;
      /** Absent only for a session opened before the gateway stored how users signed in. */
      amr?: string[];
      auth_time?: number;
      token_type: "Bearer" | "DPoP";
      cnf?: { jkt: string };
    };

/** What the built-in echo origin answers when `ORIGIN_URL` is empty: the request it would have forwarded. */
export interface EchoResponse {
  method: string;
  path: string;
  /** Each key's value, or all its values in order when repeated. */
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
}
