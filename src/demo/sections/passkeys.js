// Passkeys: log in with one (no username), add one to the account, list and delete them.
import { storage, STOLEN_KEY, storedRefreshToken, USERNAME_KEY } from "../app/mode.js";
import { $, log, secondsLeft, short, time } from "../app/ui.js";

/** Wires the passkey buttons; `demo` is the client and its view (src/demo/app/view.js). */
export function mountPasskeys({ auth, counts, attempt }) {
  $("passkey-login").addEventListener("click", () =>
    attempt("passkey login", async () => {
      const session = await auth.loginWithPasskey();
      localStorage.setItem(USERNAME_KEY, "the passkey's account");
      if (storage === "localStorage") localStorage.setItem(STOLEN_KEY, storedRefreshToken());
      counts.here = counts.elsewhere = 0;
      log(`Logged in with a passkey, no username or password: session ${short(session.sessionId)}, access token valid ${secondsLeft(session)} s.`, "good");
    }),
  );

  $("passkey-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void attempt("add passkey", async () => {
      const name = $("passkey-name").value.trim();
      const added = await auth.registerPasskey(name === "" ? undefined : name);
      log(`Added passkey ${added.name ?? short(added.id)}: log out, then log in with it.`, "good");
      await listPasskeys();
    });
  });

  $("list-passkeys").addEventListener("click", () => attempt("passkeys", listPasskeys));

  async function listPasskeys() {
    const passkeys = await auth.passkeys();
    const rows = passkeys.map((passkey) => {
      const row = document.createElement("tr");
      row.dataset.passkeyId = passkey.id;
      const used = passkey.last_used_at ? time(passkey.last_used_at) : "never";
      for (const text of [passkey.name ?? short(passkey.id), time(passkey.created_at), used, passkey.backed_up ? "synced" : "this device"]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      const cell = document.createElement("td");
      const button = document.createElement("button");
      button.textContent = "Delete";
      button.addEventListener("click", () =>
        attempt("delete passkey", async () => {
          await auth.deletePasskey(passkey.id);
          log(`Deleted passkey ${passkey.name ?? short(passkey.id)}.`);
          await listPasskeys();
        }),
      );
      cell.append(button);
      row.append(cell);
      return row;
    });
    $("passkey-rows").replaceChildren(...rows);
    if (rows.length === 0) log("No passkeys yet.");
  }
}
