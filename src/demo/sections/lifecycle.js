// The account lifecycle: register with an address, verify it with the code, forget and reset the
// password, change it, delete the account. In local dev (DEV_MESSAGE_LOG on, no WEBHOOK_URL) the
// dev inbox shows the messages the gateway would have handed to a mailer, codes and reset tokens
// included, so the whole walk works in the browser.
import { USERNAME_KEY } from "../app/mode.js";
import { $, credentials, log } from "../app/ui.js";

/** How often the dev inbox asks for new messages. */
const INBOX_POLL_MS = 1500;

export function mountLifecycle({ auth, attempt }) {
  const secret = () => $("secret").value.trim();
  const newPassword = () => $("new-password").value;

  $("register-email").addEventListener("click", () =>
    attempt("register", async () => {
      const { username, password } = credentials();
      const email = $("email").value.trim();
      const { breached } = await auth.register(username, password, email ? { email } : {});
      log(`Registered ${username}${email ? ` with ${email} (not verified yet)` : ""}. Log in, then send a verification code.`, "good");
      if (breached) log("That password appears in a known data breach (PWNED_PASSWORDS=warn): choose another.", "bad");
    }),
  );

  $("forgot").addEventListener("click", () =>
    attempt("forgot password", async () => {
      const { username } = credentials();
      const email = $("email").value.trim();
      await auth.forgotPassword(username ? { username } : { email });
      log("Asked for a reset link: it goes to the account's verified address, if it has one (the answer is the same either way).");
    }),
  );

  $("reset").addEventListener("click", () =>
    attempt("reset password", async () => {
      await auth.resetPassword(secret(), newPassword());
      // The reset revoked every session of the account, this page's too when it is the same
      // account: forget it here rather than show a session the next refresh will refuse.
      if (auth.session) await auth.logout().catch(() => {});
      log("Password reset: every session of the account was revoked. Log in with the new password.", "good");
    }),
  );

  $("send-code").addEventListener("click", () =>
    attempt("send code", async () => {
      await auth.requestEmailVerification();
      log("A 6-digit code went to the account's address (10 minutes, 5 tries).");
    }),
  );

  $("verify").addEventListener("click", () =>
    attempt("verify", async () => {
      await auth.verifyEmail(secret());
      log("Address verified: password resets can now reach it.", "good");
    }),
  );

  $("change-password").addEventListener("click", () =>
    attempt("change password", async () => {
      await auth.changePassword(credentials().password, newPassword());
      log("Password changed: every other session of the account was revoked; this one stays.", "good");
    }),
  );

  $("delete-account").addEventListener("click", () =>
    attempt("delete account", async () => {
      const { password } = credentials();
      await auth.deleteAccount(password || undefined);
      localStorage.removeItem(USERNAME_KEY);
      log("Account deleted: its sessions, its object's storage and its database rows are gone.", "good");
    }),
  );

  $("show-account").addEventListener("click", () =>
    attempt("account", async () => {
      $("account-result").textContent = JSON.stringify(await auth.account(), null, 2);
    }),
  );

  mountInbox();
}

/** The dev inbox: polls `/demo/inbox` and lists each message with a button that puts its code or token in the form. */
function mountInbox() {
  if (document.body.dataset.devInbox !== "true") {
    $("inbox-note").textContent = "Messages (codes, reset links) go to your webhook receiver. In local dev without WEBHOOK_URL, they show here.";
    return;
  }
  $("inbox-note").textContent = "Local dev only: the messages the gateway logged (DEV_MESSAGE_LOG) instead of sending them to a mailer.";
  let shown = "";
  const poll = async () => {
    try {
      const { messages } = await (await fetch("/demo/inbox", { cache: "no-store" })).json();
      const ids = messages.map((message) => message.id).join(",");
      if (ids === shown) return;
      shown = ids;
      $("inbox").replaceChildren(...messages.map(inboxItem));
    } catch {
      // The dev server restarting: the next poll tries again.
    }
  };
  void poll();
  setInterval(poll, INBOX_POLL_MS);
}

function inboxItem(message) {
  const item = document.createElement("li");
  const value = message.data.code ?? message.data.token ?? "";
  item.dataset.type = message.type;
  item.dataset.secret = value;
  const what = message.type === "message.email_verification" ? `code ${value}` : `reset token ${value.slice(0, 16)}…`;
  item.append(`${new Date(message.at).toLocaleTimeString()} to ${message.data.to}: ${what}`);
  const use = document.createElement("button");
  use.type = "button";
  use.textContent = "use";
  use.addEventListener("click", () => {
    $("secret").value = value;
  });
  item.append(use);
  return item;
}
