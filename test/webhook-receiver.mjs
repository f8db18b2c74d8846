// Vitest globalSetup (runs in Node, not in workerd): a real webhook receiver on 127.0.0.1, one per
// test project, that checks every delivery with the `standardwebhooks` library, the one a team's
// receiver would use. It provides `webhookUrl` (the receiver, for WEBHOOK_URL) and
// `webhookSecret` (a fresh `whsec_` secret, for WEBHOOK_SECRET) to vitest.config.ts.
//
//   POST /hook                 a delivery: verified and recorded; answered 204, or as a rule says
//   POST /hook/status/<code>   answered <code> with a 64 KiB body (and `?retry-after=` as Retry-After)
//   POST /hook/redirect        answered 307 to /hook
//   POST /hook/huge            answered 200 with a body of up to 256 MiB, written as it is read
//   POST /hook/hang            never answered
//   POST /__rules              {"subject", "status"}: deliveries about that subject (their data's
//                              `sub` or `user_id`) are answered `status` (204 again with null)
//   GET  /__deliveries?subject=   what reached /hook about a subject, oldest first
//   GET  /__huge                  how many bytes the last /hook/huge answer wrote before the
//                                 sender closed the connection
//
// Tests share a project's receiver, so each test names its own subjects (a user id of its own).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

const HUGE_BYTES = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(1024 * 1024, "x");

/** @param {import("vitest/node").TestProject} project */
export default async function startWebhookReceiver(project) {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const verifier = new Webhook(secret);
  /** @type {Map<string, number | null>} */
  const rules = new Map();
  /** @type {Map<string, object[]>} */
  const deliveries = new Map();
  let hugeWritten = 0;
  /** @type {Set<import("node:http").ServerResponse>} */
  const hanging = new Set();

  const server = createServer(async (request, response) => {
    const url = new URL(`http://receiver.test${request.url ?? "/"}`);
    const chunks = [];
    for await (const chunk of request) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");

    if (url.pathname === "/__rules" && request.method === "POST") {
      const { subject, status } = JSON.parse(body);
      rules.set(subject, status ?? null);
      response.writeHead(204).end();
      return;
    }
    if (url.pathname === "/__deliveries") {
      const log = deliveries.get(url.searchParams.get("subject") ?? "") ?? [];
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(log));
      return;
    }
    if (url.pathname === "/__huge") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ written: hugeWritten }));
      return;
    }
    if (url.pathname === "/hook") {
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]));
      let payload = null;
      let verified = false;
      let problem = null;
      try {
        payload = verifier.verify(body, headers);
        verified = true;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
        try {
          payload = JSON.parse(body);
        } catch {}
      }
      const subject = String(payload?.data?.sub ?? payload?.data?.user_id ?? "");
      const status = rules.get(subject) ?? 204;
      const log = deliveries.get(subject) ?? [];
      log.push({ id: headers["webhook-id"], timestamp: headers["webhook-timestamp"], signature: headers["webhook-signature"], headers, body, payload, verified, problem, answered: status });
      deliveries.set(subject, log);
      response.writeHead(status).end();
      return;
    }
    const status = /^\/hook\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      const retryAfter = url.searchParams.get("retry-after");
      response.writeHead(Number(status[1]), { "Content-Type": "text/plain", ...(retryAfter ? { "Retry-After": retryAfter } : {}) }).end("x".repeat(64 * 1024));
      return;
    }
    if (url.pathname === "/hook/redirect") {
      response.writeHead(307, { Location: "/hook" }).end();
      return;
    }
    if (url.pathname === "/hook/huge") {
      hugeWritten = 0;
      response.writeHead(200, { "Content-Type": "application/octet-stream" });
      const write = () => {
        while (hugeWritten < HUGE_BYTES && !response.destroyed) {
          hugeWritten += CHUNK.length;
          if (!response.write(CHUNK)) return void response.once("drain", write);
        }
        response.end();
      };
      write();
      return;
    }
    if (url.pathname === "/hook/hang") {
      hanging.add(response);
      response.on("close", () => hanging.delete(response));
      return;
    }
    response.writeHead(404).end();
  });

  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("webhook receiver has no port");
  project.provide("webhookUrl", `http://127.0.0.1:${address.port}`);
  project.provide("webhookSecret", secret);

  return async function stopWebhookReceiver() {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  };
}
