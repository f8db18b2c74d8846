// Register, log in, log out here, log out everywhere.
import { storage, STOLEN_KEY, storedRefreshToken, USERNAME_KEY } from "../app/mode.js";
import { $, credentials, log, secondsLeft, short } from "../app/ui.js";

/** Wires the account buttons; `demo` is the client and its view (src/demo/app/view.js). */
export function mountAccount({ auth, counts, attempt }) {
  $("credentials").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("login", async () => {
      const { username, password } = credentials();
      const session = await auth.login(username, password);
      localStorage.setItem(USERNAME_KEY, username);
      if (storage === "localStorage") localStorage.setItem(STOLEN_KEY, storedRefreshToken());
      counts.here = counts.elsewhere = 0;
      log(`Logged in: session ${short(session.sessionId)}, access token valid ${secondsLeft(session)} s.`, "good");
    });
  });

  $("register").addEventListener("click", () =>
    attempt("register", async () => {
      const { username, password } = credentials();
      await auth.register(username, password);
      log(`Registered ${username}. Log in now.`, "good");
    }),
  );

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
