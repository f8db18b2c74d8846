import { pathAndQueryOf, verifyRequestParts, type GatewayIdentity, type VerifyOptions } from "./verify-request";

/**
 * The parts of Node's `http.IncomingMessage` the check reads, typed here so that the SDK needs no
 * Node types: Express's `req`, Fastify's `request.raw` and a plain `http` request all fit.
 */
export interface NodeRequestLike {
  method?: string;
  /** The request-target as received (`/a?b`); routers may rewrite it, hence `originalUrl`. */
  url?: string;
  /** Express keeps the request-target here when a mounted router rewrites `url`. */
  originalUrl?: string;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * `verifyGatewayRequest` for Node's `http.IncomingMessage`: the same check over the request-target
 * exactly as it was received (`req.originalUrl` when Express set it, else `req.url`), so Express,
 * Fastify (`request.raw`) and plain `http` work alike. The body is not read.
 *
 * @example
 * import { createServer } from "node:http";
 * createServer(async (req, res) => {
 *   try {
 *     const { user } = await verifyNodeRequest(req, { secret: process.env.ORIGIN_SIGNING_SECRET });
 *     res.end(`hello ${user}`);
 *   } catch (error) {
 *     res.writeHead(401).end(error.code);
 *   }
 * }).listen(8080);
 */
export function verifyNodeRequest(request: NodeRequestLike, options: VerifyOptions): Promise<GatewayIdentity> {
  const target = request.originalUrl ?? request.url ?? "/";
  return verifyRequestParts(
    {
      method: request.method ?? "",
      pathAndQuery: pathAndQueryOf(target),
      header(name) {
        // Node lower-cases header names; a repeated header arrives as an array or joined by `, `.
        const value = request.headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(", ") : value;
      },
    },
    options,
  );
}
