import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readDevVar, ROOT } from "../../scripts/lib/dev-vars.mjs";
import { newKeySet } from "../../scripts/lib/key-rotation.mjs";
import { checkedKeySet, newSigningKey } from "../../scripts/lib/signing-keys.mjs";

/** Runs `node scripts/keys.mjs ...args` as `npm run keys -- ...args` would; resolves with its exit code and output. */
function keys(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, "scripts", "keys.mjs"), ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? error.code : 0, stdout, stderr });
    });
  });
}

const kidsOf = (json) => JSON.parse(json).keys.map((key) => key.kid);
const tempDir = () => mkdtempSync(join(tmpdir(), "keys-cli-"));

/** A .dev.vars as npm run dev writes it, plus `extra` lines. */
async function devVars(extra = "") {
  const path = join(tempDir(), ".dev.vars");
  const set = newKeySet(await newSigningKey({ kidPrefix: "dev-" }), Date.now());
  writeFileSync(path, `# local secrets\nSIGNING_KEYS='${JSON.stringify(set)}'\nADMIN_API_TOKEN=abc123\n${extra}`, { mode: 0o600 });
  return { path, kid: set.keys[0].kid };
}

describe("npm run keys, locally (.dev.vars)", () => {
  it("rotate --local puts a new key first in the SIGNING_KEYS line, keeps the old one to verify, and leaves every other line alone", async () => {
    const { path, kid } = await devVars();
    const { code, stdout, stderr } = await keys("rotate", "--local", "--dev-vars", path);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe("");
    const json = readDevVar("SIGNING_KEYS", path);
    const [signer, old] = kidsOf(json);
    expect(old).toBe(kid);
    expect(signer).toMatch(/^dev-\d{4}-\d{2}-\d{2}-/);
    expect(await checkedKeySet(json)).toHaveLength(2);
    const lines = readFileSync(path, "utf8").split("\n");
    expect(lines.filter((line) => !line.startsWith("SIGNING_KEYS="))).toEqual(["# local secrets", "ADMIN_API_TOKEN=abc123", ""]);
    expect(stderr).toContain("npm run keys -- retire --local");
  });

  // Reading the wait takes wrangler's own config reader (a second or two to load); the refusal
  // before the wait is test/scripts/key-rotation.test.mjs's, and promote's below.
  it("retire --local drops the old key once the access-token lifetime (here .dev.vars's, 0 s) has passed", { timeout: 20_000 }, async () => {
    const { path } = await devVars("ACCESS_TOKEN_TTL_SECONDS=0\nCLOCK_SKEW_SECONDS=0\n");
    await keys("rotate", "--local", "--dev-vars", path);
    const [signer] = kidsOf(readDevVar("SIGNING_KEYS", path));
    const { code, stderr } = await keys("retire", "--local", "--dev-vars", path);
    expect(code, stderr).toBe(0);
    expect(kidsOf(readDevVar("SIGNING_KEYS", path))).toEqual([signer]);
    expect(stderr).toContain("tokens they signed no longer verify");
  });
});

describe("npm run keys, for production (a key file)", () => {
  it("new, add, promote and retire: one command per step, the file always a set the worker takes, nothing on stdout", async () => {
    const file = join(tempDir(), ".keys", "signing-keys.json");
    const made = await keys("new", "--keys", file);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toBe("");
    expect(made.stderr).toMatch(/npx wrangler secret put SIGNING_KEYS < \S*\.keys\/signing-keys\.json\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
    const [first] = kidsOf(readFileSync(file, "utf8"));

    expect((await keys("new", "--keys", file)).code).toBe(1); // it would lose the keys in use

    expect((await keys("add", "--keys", file)).code).toBe(0);
    const [signer, added] = kidsOf(readFileSync(file, "utf8"));
    expect(signer).toBe(first);

    const early = readFileSync(file, "utf8");
    const refused = await keys("promote", "--keys", file);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("a verifier may keep the old JWKS for 300 s");
    expect(readFileSync(file, "utf8")).toBe(early);

    expect((await keys("promote", "--keys", file, "--force")).code).toBe(0);
    expect(kidsOf(readFileSync(file, "utf8"))).toEqual([added, first]);

    expect((await keys("retire", "--keys", file, "--force")).code).toBe(0);
    const json = readFileSync(file, "utf8");
    expect(kidsOf(json)).toEqual([added]);
    expect(await checkedKeySet(json)).toHaveLength(1);
  });

  it("refuses a set the worker would refuse, and a missing file, changing nothing", async () => {
    const file = join(tempDir(), "keys.json");
    const { d, ...publicOnly } = await newSigningKey({ kid: "public" });
    writeFileSync(file, JSON.stringify({ keys: [publicOnly] }));
    const bad = await keys("add", "--keys", file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('would take the gateway down: key "public" signs, so it must be a private key.');
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ keys: [publicOnly] });
    const missing = await keys("add", "--keys", join(tempDir(), "none.json"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no key set at");
  });

  it("rotates from the public keys of the live JWKS when the private copy is lost: a new signer in front of them", async () => {
    const file = join(tempDir(), "jwks.json");
    const published = await Promise.all(["a", "b"].map(async (kid) => {
      const { d, ...publicHalf } = await newSigningKey({ kid });
      return publicHalf;
    }));
    writeFileSync(file, JSON.stringify({ keys: published }));
    const { code, stderr } = await keys("rotate", "--keys", file);
    expect(code, stderr).toBe(0);
    const json = readFileSync(file, "utf8");
    const set = JSON.parse(json);
    expect(set.keys.slice(1)).toEqual(published);
    expect(typeof set.keys[0].d).toBe("string");
    expect(await checkedKeySet(json)).toHaveLength(3);
  });

  it("keeps .keys/ out of git", async () => {
    const ignored = await new Promise((resolve) => execFile("git", ["check-ignore", "-q", ".keys/signing-keys.json"], { cwd: ROOT }, (error) => resolve(!error)));
    expect(ignored).toBe(true);
  });
});

describe("npm run keys, without a command", () => {
  it("prints a new one-key set on stdout, as before", async () => {
    const { code, stdout } = await keys();
    expect(code).toBe(0);
    expect(await checkedKeySet(stdout)).toHaveLength(1);
  });

  it("points the options it dropped to the command that replaced them", async () => {
    const { code, stderr } = await keys("--append-to", "current-keys.json");
    expect(code).toBe(2);
    expect(stderr).toContain("--append-to is gone: `npm run keys -- add --keys FILE`");
  });
});
