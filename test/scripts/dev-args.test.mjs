import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { devDefaults, devServerUrl, devVarsFiles, localDevArgs, localIssuerArgs, varEntries, varValue } from "../../scripts/lib/wrangler.mjs";

/** The variables of a `wrangler dev` argument list, as wrangler applies them (the last one wins). */
const varsOf = (args) => Object.fromEntries(varEntries(args).map((entry) => [entry.slice(0, entry.indexOf(":")), entry.slice(entry.indexOf(":") + 1)]));

describe("npm run dev: the arguments it adds", () => {
  it("serves on 127.0.0.1:8787 with the demo and the dev message log on, and ISSUER naming that URL", () => {
    const defaults = devDefaults([]);
    expect(defaults).toEqual(["--ip", "127.0.0.1", "--port", "8787", "--var", "DEMO:true", "--var", "DEV_MESSAGE_LOG:true", "--var", "ISSUER:http://127.0.0.1:8787"]);
  });

  it("leaves the dev message log off when told to", () => {
    expect(varValue(devDefaults(["--var", "DEV_MESSAGE_LOG:false"]), "DEV_MESSAGE_LOG")).toBeUndefined();
  });

  it("sets ISSUER to the port it is given, however the option is written", () => {
    for (const extra of [["--port", "8931"], ["--port=8931"]]) {
      expect(varsOf([...extra, ...devDefaults(extra)]).ISSUER, extra.join(" ")).toBe("http://127.0.0.1:8931");
    }
  });

  it("names the address and protocol it serves on", () => {
    const issuer = (extra) => varsOf([...extra, ...devDefaults(extra)]).ISSUER;
    expect(issuer(["--ip", "localhost", "--port", "9000"])).toBe("http://localhost:9000");
    expect(issuer(["--ip", "::1"])).toBe("http://[::1]:8787");
    expect(issuer(["--local-protocol", "https", "--port", "8443"])).toBe("https://127.0.0.1:8443");
    // A wildcard address is reached through loopback on this machine.
    expect(issuer(["--ip", "0.0.0.0"])).toBe("http://127.0.0.1:8787");
    expect(issuer(["--ip", "::"])).toBe("http://[::1]:8787");
  });

  it("leaves ISSUER alone when a --var sets it, in any of wrangler's spellings", () => {
    for (const extra of [
      ["--port", "8931", "--var", "ISSUER:https://auth.example.com"],
      ["--var=ISSUER:https://auth.example.com"],
      ["--var", "DEMO:false", "ISSUER:https://auth.example.com"],
    ]) {
      const args = [...extra, ...devDefaults(extra)];
      expect(varsOf(args).ISSUER, extra.join(" ")).toBe("https://auth.example.com");
      expect(varEntries(args).filter((entry) => entry.startsWith("ISSUER:")), extra.join(" ")).toHaveLength(1);
    }
  });

  it("leaves ISSUER alone when the vars file sets it (a --var would override the file)", () => {
    expect(varValue(devDefaults(["--port", "8931"], { issuerInVarsFile: true }), "ISSUER")).toBeUndefined();
  });

  it("keeps the user's DEMO, and adds its own options after the user's, so no --var of ours swallows a script path", () => {
    const extra = ["src/other-entry.ts", "--var", "DEMO:false"];
    const args = [...extra, ...devDefaults(extra)];
    expect(varsOf(args).DEMO).toBe("false");
    expect(args[0]).toBe("src/other-entry.ts");
    expect(varEntries(args)).not.toContain("src/other-entry.ts");
  });
});

describe("the vars file wrangler dev reads", () => {
  it("is .dev.vars, .dev.vars.<env> when --env has one, or the --env-file files", () => {
    const root = mkdtempSync(join(tmpdir(), "dev-vars-"));
    expect(devVarsFiles([], root)).toEqual([join(root, ".dev.vars")]);
    expect(devVarsFiles(["--env", "staging"], root)).toEqual([join(root, ".dev.vars")]);
    writeFileSync(join(root, ".dev.vars.staging"), "ISSUER=http://staging.local\n");
    expect(devVarsFiles(["--env", "staging"], root)).toEqual([join(root, ".dev.vars.staging")]);
    expect(devVarsFiles(["--env-file", "a.env", "--env-file=b.env"], root)).toEqual([join(root, "a.env"), join(root, "b.env")]);
  });
});

describe("the browser tests' and the bench's local server", () => {
  it("gets the same URL and ISSUER from its arguments as npm run dev would", () => {
    const args = localDevArgs({ port: 41234, inspectorPort: 41235, persistTo: "/tmp/state" });
    expect(devServerUrl(args)).toBe("http://127.0.0.1:41234");
    expect(localIssuerArgs(args)).toEqual(["--var", "ISSUER:http://127.0.0.1:41234"]);
    const extra = ["--ip", "127.0.0.1", "--port", "41234"];
    expect(varsOf(devDefaults(extra)).ISSUER).toBe(devServerUrl(args));
  });
});
