// The Worker origin of the origin-binding project: reached only through the gateway's service
// binding ORIGIN (vitest.config.ts), it has no URL of its own. It verifies every request with
// the origin SDK, as a real Worker origin would, and answers what it received and what the
// check said: 200 `{"method","url","verified"|"refused","headers","body"}`.
import { GatewayVerificationError, verifyGatewayRequest } from "../../src/origin/index";

interface OriginEnv {
  ORIGIN_SIGNING_SECRET: string;
}

export default {
  async fetch(request: Request, env: OriginEnv): Promise<Response> {
    let outcome: { verified: { user: string | null; session: string | null } } | { refused: string };
    try {
      const { user, session } = await verifyGatewayRequest(request, { secret: env.ORIGIN_SIGNING_SECRET });
      outcome = { verified: { user, session } };
    } catch (error) {
      if (!(error instanceof GatewayVerificationError)) throw error;
      outcome = { refused: error.code };
    }
    return Response.json({
      method: request.method,
      url: request.url,
      ...outcome,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    });
  },
};
