// What `npm run deploy` refuses to send to Cloudflare: a configuration still set up for this
// machine. Pure: it takes the variables and D1 bindings wrangler would deploy (see
// scripts/lib/wrangler-config.mjs) and says what is wrong; scripts/deploy.mjs decides what to do.

// The placeholder wrangler.toml ships with until `wrangler d1 create` prints the real id.
const PLACEHOLDER_DATABASE_ID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

/**
 * The problems of a deploy: `refusals` would put a broken gateway online (an ISSUER naming this
 * machine signs tokens no one else can match to the gateway, and advertises it in discovery; a
 * placeholder database_id names no database), `warnings` are worth a look but may be meant.
 * `vars` are the plain variables the worker gets, `d1Databases` the config's `d1_databases`.
 */
export function deployProblems({ vars, d1Databases = [] }) {
  const refusals = [];
  const warnings = [];

  const issuer = (vars.ISSUER ?? "").trim();
  if (issuer === "") {
    refusals.push("ISSUER is not set: set it under [vars] in wrangler.toml to the gateway's public URL, e.g. ISSUER = \"https://auth.example.com\".");
  } else {
    const url = URL.canParse(issuer) ? new URL(issuer) : null;
    if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
      refusals.push(`ISSUER must be the gateway's public URL (https://...), got "${issuer}".`);
    } else if (isThisMachine(url.hostname)) {
      refusals.push(
        `ISSUER is still local (${issuer}): tokens would name it as their issuer and discovery would send clients there. ` +
          'Set it under [vars] in wrangler.toml to the gateway\'s public URL, e.g. ISSUER = "https://auth.example.com".',
      );
    } else if (url.protocol === "http:") {
      warnings.push(`ISSUER is not https (${issuer}): tokens and refresh calls would cross the network in the clear.`);
    }
  }

  for (const database of d1Databases) {
    const id = database.database_id ?? "";
    if (id === "" || PLACEHOLDER_DATABASE_ID.test(id)) {
      refusals.push(
        `the D1 database ${database.binding} has ${id === "" ? "no database_id" : `the placeholder database_id ${id}`}: ` +
          `run \`npx wrangler d1 create ${database.database_name ?? "edge-auth-gateway"}\` and put the id it prints into wrangler.toml.`,
      );
    }
  }

  // The one switch that puts secrets in the log (messages' codes and reset tokens): local dev only.
  if ((vars.DEV_MESSAGE_LOG ?? "").trim().toLowerCase() === "true") {
    refusals.push("DEV_MESSAGE_LOG is true: messages to users, their codes and reset tokens included, would go to the worker's log. It is for `npm run dev` only; set WEBHOOK_URL and WEBHOOK_SECRET instead.");
  }

  if (vars.DEMO === "true") warnings.push("DEMO is true: the demo app at /demo will be online. Leave it off in production.");
  if (vars.BENCH_ROUTES === "true") warnings.push("BENCH_ROUTES is true: the bench-only routes will be online. Leave them off in production.");
  return { refusals, warnings };
}

// Loopback and unspecified addresses, and `localhost` (RFC 6761 section 6.3: every name under it
// is this machine too). `URL` gives IPv6 hosts in brackets.
function isThisMachine(hostname) {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (/^127\.\d+\.\d+\.\d+$/.test(host) || host === "0.0.0.0") return true;
  return host === "[::1]" || host === "[::]";
}
