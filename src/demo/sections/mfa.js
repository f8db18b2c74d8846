// TOTP: enrol with a QR code of the otpauth URI, confirm with a code, see the recovery codes once,
// turn it off, renew the recovery codes. The QR code is drawn by uqr as SVG, bundled in.
import { renderSVG } from "uqr";
import { $, log } from "../app/ui.js";

/** Wires the second-factor section. */
export function mountMfa({ auth, attempt }) {
  function showRecoveryCodes(codes) {
    $("recovery-codes").replaceChildren(...codes.map((code) => Object.assign(document.createElement("li"), { textContent: code })));
    $("recovery").hidden = false;
  }

  $("totp-enrol").addEventListener("click", () =>
    attempt("enrol TOTP", async () => {
      const { secret, otpauthUri } = await auth.enrollTotp();
      // Parsed as SVG, not set as HTML: the page's CSP allows no inline anything.
      const svg = new DOMParser().parseFromString(renderSVG(otpauthUri, { border: 2 }), "image/svg+xml").documentElement;
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", "QR code of the otpauth URI");
      $("totp-qr").replaceChildren(document.importNode(svg, true));
      $("totp-secret").textContent = secret;
      $("totp-secret").dataset.secret = secret;
      $("totp-qr").dataset.uri = otpauthUri;
      $("totp-pending").hidden = false;
      $("recovery").hidden = true;
      log("TOTP pending: scan the QR code, then confirm with a code from the app.");
    }),
  );

  $("totp-confirm-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("confirm TOTP", async () => {
      const codes = await auth.confirmTotp($("totp-confirm-code").value.trim());
      $("totp-confirm-form").reset();
      $("totp-pending").hidden = true;
      showRecoveryCodes(codes);
      log("TOTP is on: the next login asks for a code. Keep the recovery codes somewhere safe.", "good");
    });
  });

  $("totp-off-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("turn off TOTP", async () => {
      await auth.disableTotp($("totp-off-code").value.trim());
      $("totp-off-form").reset();
      $("recovery").hidden = true;
      log("TOTP is off: the password alone logs in again, and the recovery codes are gone.");
    });
  });

  $("recovery-renew").addEventListener("click", () =>
    attempt("new recovery codes", async () => {
      const codes = await auth.regenerateRecoveryCodes($("totp-off-code").value.trim());
      $("totp-off-form").reset();
      showRecoveryCodes(codes);
      log("New recovery codes: the old ones no longer work.", "good");
    }),
  );
}
