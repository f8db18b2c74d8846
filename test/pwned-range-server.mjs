// Vitest globalSetup (runs in Node): a breached-password range API on 127.0.0.1, for the
// pwned-passwords project, speaking the protocol of api.pwnedpasswords.com/range/: GET
// <base><5 hex>, answered with `SUFFIX:COUNT` lines, padded with count-0 lines when asked
// (`Add-Padding: true`). It provides `pwnedUrl`. Each base behaves in one way:
//
//   /ok/range/<prefix>        the real protocol; the breached passwords are BREACHED below
//   /slow/range/<prefix>      the same, after 5 s (past the gateway's 2 s budget)
//   /garbage/range/<prefix>   200 with a body that is not a range answer
//   /down/range/<prefix>      500
//   /redirect/range/<prefix>  302 to /ok/range/<prefix>
//   GET /__requests           every range request received: path and Add-Padding header
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";

/** Passwords the server knows as breached, and one it pads with its own suffix at count 0. */
export const BREACHED = ["hunter2hunter2", "P@ssw0rd-leaked"];
export const PADDED_ONLY = "padding is not a breach";

const sha1 = (text) => createHash("sha1").update(text, "utf8").digest("hex").toUpperCase();

/** @param {import("vitest/node").TestProject} project */
export default async function startRangeApi(project) {
  /** @type {Array<{ path: string, padding: string | null }>} */
  const requests = [];
  const server = createServer(async (request, response) => {
    const url = new URL(`http://range.test${request.url ?? "/"}`);
    if (url.pathname === "/__requests") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(requests));
      return;
    }
    const match = /^\/(ok|slow|garbage|down|redirect)\/range\/(.*)$/.exec(url.pathname);
    if (!match) return void response.writeHead(404).end();
    const [, mode, prefix] = match;
    requests.push({ path: url.pathname, padding: request.headers["add-padding"] ?? null });
    if (mode === "down") return void response.writeHead(500).end("down");
    if (mode === "garbage") return void response.writeHead(200, { "Content-Type": "text/plain" }).end("<html>not a range answer</html>\n");
    if (mode === "redirect") return void response.writeHead(302, { Location: `/ok/range/${prefix}` }).end();
    if (mode === "slow") await new Promise((resolve) => setTimeout(resolve, 5000));
    if (response.destroyed) return;
    const lines = [];
    for (const password of BREACHED) if (sha1(password).startsWith(prefix)) lines.push(`${sha1(password).slice(5)}:${1000 + lines.length}`);
    if (request.headers["add-padding"] === "true") {
      if (sha1(PADDED_ONLY).startsWith(prefix)) lines.push(`${sha1(PADDED_ONLY).slice(5)}:0`);
      for (let pad = 0; pad < 50; pad += 1) lines.push(`${randomBytes(18).toString("hex").slice(0, 35).toUpperCase()}:0`);
    }
    response.writeHead(200, { "Content-Type": "text/plain" }).end(lines.join("\r\n"));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("range API has no port");
  project.provide("pwnedUrl", `http://127.0.0.1:${address.port}`);
  return async function stopRangeApi() {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve(undefined)));
  };
}
