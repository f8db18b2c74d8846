// Register (which logs in), log in (with the second step when TOTP is on), log out here, log out everywhere.
import { storage, STOLEN_KEY, storedRefreshToken, USERNAME_KEY } from "../app/mode.js";
import { $, credentials, log, secondsLeft, short } from "../app/ui.js";

/** Wires the account buttons; `demo` is the client and its view (src/demo/app/view.js). */
export function mountAccount({ auth, counts, attempt, render }) {
  /** A session just opened for `username`: what the page keeps and says. */
  function loggedIn(username, session, how) {
    localStorage.setItem(USERNAME_KEY, username);
    if (storage === "localStorage") localStorage.setItem(STOLEN_KEY, storedRefreshToken());
    counts.here = counts.elsewhere = 0;
    $("credentials").reset();
    log(`${how}: session ${short(session.sessionId)}, access token valid ${secondsLeft(session)} s.`, "good");
  }

  /** Logs in; with TOTP on, shows the code step and leaves the rest to it. */
  async function logIn(username, password, how) {
    const result = await auth.login(username, password);
    if (result.mfaRequired) {
      pendingUsername = username;
      $("mfa-step").hidden = false;
      $("mfa-code").focus();
      log("Password right. TOTP is on: enter a code from your authenticator app, or a recovery code.");
      return;
    }
    loggedIn(username, result, how);
  }

  let pendingUsername = null;

  $("credentials").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("login", async () => {
      const { username, password } = credentials();
      await logIn(username, password, "Logged in");
    });
  });

  $("register").addEventListener("click", () =>
    attempt("register", async () => {
      const { username, password } = credentials();
      await auth.register(username, password);
      await logIn(username, password, `Registered ${username} and logged in`);
    }),
  );

  $("mfa-step").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("verify", async () => {
      const code = $("mfa-code").value.trim();
      let session;
      try {
        session = await auth.verifyMfa(code);
      } catch (error) {
        // Too many wrong codes or too late: the step is over, log in again. A wrong code leaves it open.
        if (error?.code === "invalid_mfa_token") closeMfaStep();
        throw error;
      }
      closeMfaStep();
      loggedIn(pendingUsername ?? "?", session, /^[0-9]{6}$/.test(code) ? "Logged in with a TOTP code" : "Logged in with a recovery code (it is used up now)");
    });
  });

  function closeMfaStep() {
    $("mfa-step").reset();
    $("mfa-step").hidden = true;
  }

  $("mfa-cancel").addEventListener("click", () => {
    closeMfaStep();
    render();
  });

  $("logout").addEventListener("click", () =>
    attempt("logout", async () => {
      await auth.logout();
      log("Logged out (every tab of this mode follows).");
    }),
  );

  $("logout-all").addEventListener("click", () =>
    attempt("logout-all", async () => {
      await auth.logoutAll();
      log("Logged out everywhere: every session of this user is revoked.");
    }),
  );
}
