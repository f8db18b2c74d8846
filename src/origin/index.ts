/**
 * `edge-auth-gateway/origin`: what an origin behind the gateway uses to know a request came through
 * it, and from whom. Dependency-free (WebCrypto and `fetch` only), for Workers, Node 18+, Bun and
 * Deno. docs/origin.md says what the origin receives and how the check works.
 *
 * @example
 * import { verifyGatewayRequest, GatewayVerificationError } from "edge-auth-gateway/origin";
 *
 * const { user, session } = await verifyGatewayRequest(request, { secret: env.ORIGIN_SIGNING_SECRET });
 */
export { verifyGatewayRequest, type GatewayIdentity, type VerifyOptions } from "./verify-request";
export { verifyNodeRequest, type NodeRequestLike } from "./node-request";
export { GatewayVerificationError, type GatewayVerificationCode } from "./errors";
export type { AccessTokenClaims, AccessTokenOptions } from "./access-token";
export { clearJwksCache } from "./jwks";
export { signatureBase, type SignedFields } from "./signature-base";
