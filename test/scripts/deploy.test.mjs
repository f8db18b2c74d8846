import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deployProblems } from "../../scripts/lib/deploy-checks.mjs";
import { ROOT } from "../../scripts/lib/dev-vars.mjs";
import { deployVars } from "../../scripts/lib/wrangler-config.mjs";

const DATABASE = { binding: "DB", database_name: "edge-auth-gateway", database_id: "5e3f7c2a-4b1d-4c8e-9f0a-1b2c3d4e5f60" };
const PLACEHOLDER = { ...DATABASE, database_id: "00000000-0000-0000-0000-000000000000" };
const ready = { vars: { ISSUER: "https://auth.example.com", DEMO: "false" }, d1Databases: [DATABASE] };

/** Runs `node scripts/deploy.mjs ...args` as `npm run deploy -- ...args` would. */
function deploy(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "scripts", "deploy.mjs"), ...args], { cwd: ROOT, env: { ...process.env, CI: "true", ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? error.code : 0, stdout, stderr }),
    );
  });
}

describe("what npm run deploy refuses", () => {
  it("lets a configuration with a public ISSUER and a real database_id through, without a word", () => {
    expect(deployProblems(ready)).toEqual({ refusals: [], warnings: [] });
  });

  it("refuses an ISSUER that is still this machine, however it is written", () => {
    for (const issuer of ["http://127.0.0.1:8787", "http://localhost:8787", "https://LOCALHOST.", "http://auth.localhost", "http://127.1.2.3", "http://[::1]:8787", "http://0.0.0.0:8787"]) {
      const { refusals } = deployProblems({ ...ready, vars: { ISSUER: issuer } });
      expect(refusals, issuer).toEqual([expect.stringContaining(`ISSUER is still local (${issuer})`)]);
    }
  });

  it("refuses an ISSUER that is unset, blank or no http(s) URL", () => {
    expect(deployProblems({ ...ready, vars: {} }).refusals).toEqual([expect.stringContaining("ISSUER is not set")]);
    expect(deployProblems({ ...ready, vars: { ISSUER: "  " } }).refusals).toEqual([expect.stringContaining("ISSUER is not set")]);
    for (const issuer of ["auth.example.com", "ftp://auth.example.com"]) {
      expect(deployProblems({ ...ready, vars: { ISSUER: issuer } }).refusals, issuer).toEqual([expect.stringContaining("ISSUER must be the gateway's public URL")]);
    }
  });

  it("refuses the placeholder database_id, and a D1 binding without one", () => {
    const { refusals } = deployProblems({ ...ready, d1Databases: [PLACEHOLDER, { binding: "OTHER", database_name: "other" }] });
    expect(refusals).toEqual([
      expect.stringContaining("the D1 database DB has the placeholder database_id 00000000-0000-0000-0000-000000000000: run `npx wrangler d1 create edge-auth-gateway`"),
      expect.stringContaining("the D1 database OTHER has no database_id: run `npx wrangler d1 create other`"),
    ]);
  });

  it("refuses DEV_MESSAGE_LOG on, which would log the codes and reset tokens of messages to users", () => {
    for (const value of ["true", "TRUE", " true "]) {
      expect(deployProblems({ ...ready, vars: { ...ready.vars, DEV_MESSAGE_LOG: value } }).refusals, value).toEqual([expect.stringContaining("DEV_MESSAGE_LOG is true")]);
    }
    expect(deployProblems({ ...ready, vars: { ...ready.vars, DEV_MESSAGE_LOG: "false" } }).refusals).toEqual([]);
  });

  it("only warns about an http ISSUER and the demo or bench routes left on", () => {
    const { refusals, warnings } = deployProblems({ vars: { ISSUER: "http://auth.example.com", DEMO: "true", BENCH_ROUTES: "true" }, d1Databases: [DATABASE] });
    expect(refusals).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining("ISSUER is not https"), expect.stringContaining("DEMO is true"), expect.stringContaining("BENCH_ROUTES is true")]);
  });

  it("judges the variables a deploy would use: --var overrides [vars], the last one wins", () => {
    const vars = deployVars({ vars: { ISSUER: "http://127.0.0.1:8787", AUDIENCE: "api" } }, ["--var", "ISSUER:https://a.example.com", "--var=ISSUER:https://auth.example.com"]);
    expect(vars).toEqual({ ISSUER: "https://auth.example.com", AUDIENCE: "api" });
  });
});

describe("npm run deploy", () => {
  it("refuses the repository's wrangler.toml as it is, naming both problems, before building or deploying anything", { timeout: 20_000 }, async () => {
    const { code, stderr } = await deploy([]);
    expect(code).toBe(1);
    expect(stderr).toContain("deploy: refused: ISSUER is still local (http://127.0.0.1:8787)");
    expect(stderr).toContain("deploy: refused: the D1 database DB has the placeholder database_id 00000000-0000-0000-0000-000000000000");
    expect(stderr).toContain("nothing was deployed");
  });

  it("refuses `npm run deploy --dry-run` without `--`, which npm would turn into a real deploy", async () => {
    const { code, stderr } = await deploy([], { npm_config_dry_run: "true" });
    expect(code).toBe(2);
    expect(stderr).toContain("npm run deploy -- --dry-run");
  });
});
