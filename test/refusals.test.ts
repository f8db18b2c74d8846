import { afterEach, describe, expect, it, vi } from "vitest";
import type { AuthError } from "../src/errors/auth-error";
import {
  ACCESS_REFUSALS,
  DPOP_REFUSALS,
  accessRefusal,
  dpopRefusal,
  type AccessRefusal,
  type DpopRefusal,
} from "../src/errors/refusals";
import { logRefusal } from "../src/errors/verdict";

// What the client is told for every named reason, written out: a reason that is added must get a
// row here, and a row here that changes is a change of the contract's wire.

const INVALID = ["invalid_token", "The access token is invalid"] as const;
const EXPIRED = ["invalid_token", "The access token expired"] as const;
const NO_BOUND_PROOF = ["invalid_dpop_proof", "A DPoP proof of the bound key is required"] as const;

const ACCESS_WIRE: Record<AccessRefusal, readonly [string, string]> = {
  malformed: INVALID,
  alg_not_allowed: INVALID,
  bad_signature: INVALID,
  wrong_typ: INVALID,
  missing_claim: INVALID,
  bad_claim: INVALID,
  wrong_issuer: INVALID,
  wrong_audience: INVALID,
  not_yet_valid: INVALID,
  issued_in_future: INVALID,
  too_old: EXPIRED,
  expired: EXPIRED,
  too_large: INVALID,
  not_canonical: INVALID,
  unknown_kid: INVALID,
  key_alg_mismatch: INVALID,
  not_a_session: INVALID,
  no_token: ["unauthorized", "An access token is required."],
  dpop_scheme_unbound: ["invalid_token", "The access token is not bound to a DPoP key"],
  bearer_scheme_bound: ["invalid_token", "The access token is bound to a DPoP key: send it as Authorization: DPoP with a proof"],
  no_dpop_proof: NO_BOUND_PROOF,
  dpop_proof_refused: NO_BOUND_PROOF,
  dpop_proof_of_another_key: NO_BOUND_PROOF,
};

const JOSE_CHECKS = "The DPoP proof is not valid: the proof's header, signature or claims are not valid.";
const DPOP_WIRE: Record<DpopRefusal, string> = {
  malformed: JOSE_CHECKS,
  alg_not_allowed: JOSE_CHECKS,
  bad_signature: JOSE_CHECKS,
  wrong_typ: JOSE_CHECKS,
  missing_claim: JOSE_CHECKS,
  bad_claim: JOSE_CHECKS,
  wrong_issuer: JOSE_CHECKS,
  wrong_audience: JOSE_CHECKS,
  not_yet_valid: JOSE_CHECKS,
  issued_in_future: JOSE_CHECKS,
  too_old: JOSE_CHECKS,
  expired: JOSE_CHECKS,
  too_large: "The DPoP proof is not valid: the proof is too large.",
  not_a_jwt: "The DPoP proof is not valid: the proof is not a JWT.",
  no_jwk: "The DPoP proof is not valid: the proof has no jwk header.",
  private_jwk: "The DPoP proof is not valid: the proof's jwk holds a private key.",
  bad_jti: "The DPoP proof is not valid: the proof's jti is not valid.",
  wrong_htm: "The DPoP proof is not valid: the proof's htm is not the request method.",
  wrong_htu: "The DPoP proof is not valid: the proof's htu is not the request URL.",
  iat_out_of_window: "The DPoP proof is not valid: the proof's iat is too far from now.",
  wrong_ath: "The DPoP proof is not valid: the proof's ath is not the access token's hash.",
  required: "A DPoP proof is required (DPOP=required).",
  replayed: "The DPoP proof was used before: send a fresh one.",
};

const wire = (error: AuthError) => ({ status: error.status, code: error.code, description: error.description, headers: error.headers });

describe("a refused access token on the wire", () => {
  it("has a row in this table for every reason", () => {
    expect(Object.keys(ACCESS_WIRE).sort()).toEqual([...ACCESS_REFUSALS].sort());
  });

  it.each(ACCESS_REFUSALS)("%s: 401 with its code and description, in the body and the Bearer challenge", (reason) => {
    const [code, description] = ACCESS_WIRE[reason];
    const challenge = code === "unauthorized" ? 'Bearer realm="edge"' : `Bearer realm="edge", error="${code}", error_description="${description}"`;
    expect(wire(accessRefusal(reason, { scheme: "Bearer", realm: "edge", dpopAlgorithms: ["ES256", "EdDSA"] }))).toEqual({
      status: 401,
      code,
      description,
      headers: { "WWW-Authenticate": challenge },
    });
  });

  it("names the DPoP scheme and its algorithms in a DPoP challenge (RFC 9449 section 7.1)", () => {
    const error = accessRefusal("dpop_proof_of_another_key", { scheme: "DPoP", realm: "edge", dpopAlgorithms: ["ES256", "EdDSA"] });
    expect(error.headers["WWW-Authenticate"]).toBe(
      'DPoP realm="edge", error="invalid_dpop_proof", error_description="A DPoP proof of the bound key is required", algs="ES256 EdDSA"',
    );
  });

  it("escapes quotes and backslashes in the realm (RFC 7235 section 2.2)", () => {
    const error = accessRefusal("expired", { scheme: "Bearer", realm: 'my "api" \\ v2', dpopAlgorithms: [] });
    expect(error.headers["WWW-Authenticate"]).toBe('Bearer realm="my \\"api\\" \\\\ v2", error="invalid_token", error_description="The access token expired"');
  });
});

describe("a refused DPoP proof of a session request on the wire", () => {
  it("has a row in this table for every reason", () => {
    expect(Object.keys(DPOP_WIRE).sort()).toEqual([...DPOP_REFUSALS].sort());
  });

  it.each(DPOP_REFUSALS)("%s: 400 invalid_dpop_proof with its description", (reason) => {
    expect(wire(dpopRefusal(reason))).toEqual({ status: 400, code: "invalid_dpop_proof", description: DPOP_WIRE[reason], headers: {} });
  });
});

describe("the log line of a refusal", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is one JSON line naming what was refused and why, with the detail it is given", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    logRefusal("access_token", "expired", { scheme: "DPoP", session_id: "s-1", note: "two\nlines" });
    expect(warn).toHaveBeenCalledTimes(1);
    const [line, ...rest] = warn.mock.calls[0]!;
    expect(rest).toEqual([]);
    expect(typeof line === "string" && !line.includes("\n")).toBe(true);
    expect(JSON.parse(line as string)).toEqual({ event: "access_token_refused", reason: "expired", scheme: "DPoP", session_id: "s-1", note: "two\nlines" });
  });

  it("keeps the event and reason its own, whatever the detail says", () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    logRefusal("dpop_proof", "wrong_htu", { event: "something_else", reason: "forged" });
    expect(JSON.parse(warn.mock.calls[0]![0] as string)).toMatchObject({ event: "dpop_proof_refused", reason: "wrong_htu" });
  });
});
