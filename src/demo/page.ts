/**
 * The demo's HTML, with what the page needs to know of the gateway's settings on `<body>`; its
 * script is /demo/app.js and its style /demo/demo.css (so the page runs under a strict CSP).
 */
export function demoPage(settings: { devInbox: boolean; refreshCookie: boolean; accessTokenTtlSeconds: number; issuer: string; providers: string[] }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-auth-gateway demo</title>
<link rel="stylesheet" href="/demo/demo.css">
<script type="module" src="/demo/app.js"></script>
</head>
<body data-dev-inbox="${settings.devInbox}" data-refresh-cookie="${settings.refreshCookie}" data-access-ttl="${settings.accessTokenTtlSeconds}" data-issuer="${escapeAttribute(settings.issuer)}" data-providers="${escapeAttribute(settings.providers.join(","))}" data-state="logged-out">
<header>
  <h1>edge-auth-gateway <small>demo</small></h1>
  <nav><span id="modes">Refresh token in <a data-storage="localStorage">localStorage</a> <a data-storage="memory">memory</a> <a data-storage="cookie">a cookie</a></span>
    <span id="dpop-modes">DPoP <a data-dpop="0">off</a> <a data-dpop="1">on</a></span></nav>
</header>
<p id="mode-note" class="note"></p>
<main>
  <section id="account">
    <h2>Account</h2>
    <form id="credentials">
      <input id="username" name="username" autocomplete="username" placeholder="username" required>
      <input id="password" name="password" type="password" autocomplete="current-password" placeholder="password, 8+ characters" required>
      <button id="login" type="submit">Log in</button>
      <button id="register" type="button">Register</button>
    </form>
    <form id="mfa-step" hidden>
      <input id="mfa-code" name="code" autocomplete="one-time-code" placeholder="code from your app, or a recovery code" required>
      <button id="mfa-verify" type="submit">Verify</button>
      <button id="mfa-cancel" type="button">Cancel</button>
    </form>
    <p class="buttons" id="federation"></p>
    <p id="status" data-state="logged-out">Logged out.</p>
    <p class="buttons"><button id="logout">Log out</button> <button id="logout-all">Log out everywhere</button> <a id="second-tab" target="_blank" rel="opener">Open a second tab</a></p>
  </section>
  <section id="lifecycle">
    <h2>Address and password</h2>
    <form id="lifecycle-form">
      <input id="email" name="email" type="email" autocomplete="email" placeholder="e-mail (optional at register)">
      <input id="new-password" name="new-password" type="password" autocomplete="new-password" placeholder="new password, 8+ characters">
      <input id="secret" name="secret" autocomplete="one-time-code" placeholder="verification code or reset token">
    </form>
    <p class="buttons"><button id="register-email" type="button">Register with this address</button> <button id="forgot" type="button">Forgot password</button> <button id="reset" type="button">Reset password</button></p>
    <p class="buttons when-logged-in"><button id="send-code" type="button">Send verification code</button> <button id="verify" type="button">Verify</button> <button id="change-password" type="button">Change password</button> <button id="delete-account" type="button">Delete account</button> <button id="show-account" type="button">Show account</button></p>
    <pre id="account-result"></pre>
    <div id="inbox-box">
      <h2>Dev inbox</h2>
      <p class="note" id="inbox-note"></p>
      <ol id="inbox"></ol>
    </div>
  </section>
  <section id="token">
    <h2>Access token</h2>
    <dl>
      <dt>session</dt><dd id="session-id">–</dd>
      <dt>token type</dt><dd id="token-type">–</dd>
      <dt>signed in with</dt><dd id="amr">–</dd>
      <dt>bound to</dt><dd id="binding">–</dd>
      <dt>expires in</dt><dd id="expires-in">–</dd>
      <dt>refreshes</dt><dd id="refresh-count">0 here, 0 in other tabs</dd>
    </dl>
    <div class="meter"><div id="meter-bar"></div></div>
    <p class="note">The client refreshes when a request is about to go out near the end of the token's lifetime, or after a 401 that says it expired: no timer of its own. The countdown is this page's.</p>
  </section>
  <section id="passkeys">
    <h2>Passkeys</h2>
    <p class="buttons"><button id="passkey-login" type="button">Log in with a passkey</button></p>
    <form id="passkey-form" class="when-logged-in">
      <input id="passkey-name" maxlength="64" placeholder="name of the new passkey (optional)">
      <button id="add-passkey" type="submit">Add a passkey</button>
      <button id="list-passkeys" type="button">List my passkeys</button>
    </form>
    <table class="when-logged-in">
      <thead><tr><th>passkey</th><th>added</th><th>last used</th><th>kind</th><th></th></tr></thead>
      <tbody id="passkey-rows"></tbody>
    </table>
    <p class="note">A passkey signs in with no username or password: the browser asks which account, then for your fingerprint, face or PIN. Open this page at http://localhost (browsers refuse passkeys on an IP address).</p>
  </section>
  <section id="mfa" class="when-logged-in">
    <h2>Second factor (TOTP)</h2>
    <p class="note" id="mfa-note">Turn on TOTP: scan the QR code with an authenticator app, then confirm with a code from it. Logging in then asks for a code after the password.</p>
    <p class="buttons"><button id="totp-enrol">Turn on TOTP</button></p>
    <div id="totp-pending" hidden>
      <div id="totp-qr"></div>
      <p class="note">Or type in the secret <code id="totp-secret"></code></p>
      <form id="totp-confirm-form" class="inline"><input id="totp-confirm-code" autocomplete="one-time-code" placeholder="6-digit code" required><button id="totp-confirm" type="submit">Confirm</button></form>
    </div>
    <div id="recovery" hidden>
      <p class="note">Recovery codes, shown once: each logs you in once instead of a code.</p>
      <ol id="recovery-codes"></ol>
    </div>
    <form id="totp-off-form" class="inline"><input id="totp-off-code" autocomplete="one-time-code" placeholder="code or recovery code" required><button id="totp-disable" type="submit">Turn off TOTP</button><button id="recovery-renew" type="button">New recovery codes</button></form>
  </section>
  <section id="api">
    <h2>Protected API</h2>
    <p class="buttons"><button id="call">Call GET /api/echo</button> <label><input type="checkbox" id="auto">every second</label></p>
    <pre id="api-result">Not called yet.</pre>
  </section>
  <section id="sessions">
    <h2>Sessions</h2>
    <p class="buttons"><button id="list-sessions">List my sessions</button></p>
    <table>
      <thead><tr><th>session</th><th>created</th><th>last used</th><th>user agent</th><th></th></tr></thead>
      <tbody id="session-rows"></tbody>
    </table>
  </section>
  <section id="attack">
    <div>
    <h2>Simulate a stolen refresh token</h2>
    <p class="note" id="steal-note">At login this page keeps a copy of the refresh token, as malware on the page could. The button replays it once it is two rotations old: the gateway sees a used token come back, revokes every session of the user, and every tab is logged out.</p>
    <p class="buttons"><button id="steal">Replay the copied refresh token</button></p>
    <pre id="attack-result"></pre>
    </div>
    <div>
    <h2>Copy the refresh token out, replay it elsewhere</h2>
    <p class="note" id="replay-note">With DPoP on, the button copies the current refresh token out of localStorage, as script on the page could, and sends it to POST /auth/refresh the way a thief would from elsewhere: a plain request without a DPoP proof, since the private key cannot leave this page. The gateway refuses it and changes nothing; this page then refreshes and calls the API as before.</p>
    <p class="buttons"><button id="replay">Copy the refresh token out and replay it</button></p>
    <pre id="replay-result"></pre>
    </div>
  </section>
  <section id="events">
    <h2>What happened</h2>
    <ol id="log" reversed></ol>
  </section>
</main>
</body>
</html>
`;
}

function escapeAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

export const DEMO_CSS = `:root { color-scheme: light; font: 15px/1.45 system-ui, sans-serif; --accent: #1f6feb; --bad: #c0392b; --good: #1a7f37; }
body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem 3rem; background: #f6f8fa; color: #1f2328; }
header { display: flex; align-items: baseline; justify-content: space-between; flex-wrap: wrap; gap: 1rem; }
h1 { font-size: 1.4rem; margin: .5rem 0; } h1 small { color: #656d76; font-weight: normal; }
h2 { font-size: 1rem; margin: 0 0 .6rem; }
nav a { margin-left: .6rem; color: var(--accent); } #dpop-modes { margin-left: 1.2rem; } nav a[aria-current] { font-weight: bold; text-decoration: none; color: inherit; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1rem; }
#events, #sessions, #attack { grid-column: 1 / -1; } #attack { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 0 1.5rem; }
input { padding: .35rem .5rem; border: 1px solid #d0d7de; border-radius: 6px; font: inherit; min-width: 0; } input[type=checkbox] { margin: 0 .3rem 0 0; }
button { padding: .35rem .8rem; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; font: inherit; cursor: pointer; }
button[type=submit], #call { background: var(--accent); color: #fff; border-color: var(--accent); }
#inbox { margin: 0; padding-left: 1.2rem; font-size: .85rem; max-height: 12rem; overflow: auto; } #inbox button { margin-left: .4rem; padding: .1rem .5rem; }
#delete-account, #steal, #replay { background: var(--bad); color: #fff; border-color: var(--bad); } button:disabled { opacity: .45; cursor: not-allowed; }
form { display: grid; grid-template-columns: 1fr 1fr; gap: .4rem; } form input { grid-column: 1 / -1; }
form.inline { display: flex; flex-wrap: wrap; gap: .4rem; margin: .4rem 0; } form.inline input { flex: 1 1 10rem; }
#totp-qr svg { width: 180px; height: 180px; } #recovery-codes { columns: 2; font-family: ui-monospace, monospace; font-size: .9rem; }
[hidden] { display: none !important; } body[data-state=logged-out] .when-logged-in { display: none; }
#status { font-weight: 600; } #status[data-state=logged-in] { color: var(--good); } #status[data-state=logged-out] { color: var(--bad); }
dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0 0 .6rem; } dt { color: #656d76; } dd { margin: 0; font-variant-numeric: tabular-nums; }
.meter { height: 8px; background: #eaeef2; border-radius: 4px; overflow: hidden; } #meter-bar { height: 100%; width: 0; background: var(--good); transition: width .2s linear; } #meter-bar.low { background: #d29922; }
.note { color: #656d76; font-size: .88rem; } .buttons { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
pre { white-space: pre-wrap; background: #f6f8fa; padding: .5rem; border-radius: 6px; font-size: .85rem; min-height: 1.2rem; }
table { width: 100%; border-collapse: collapse; font-size: .85rem; } th, td { text-align: left; padding: .25rem .3rem; border-bottom: 1px solid #eaeef2; vertical-align: top; } td:nth-child(4) { overflow-wrap: anywhere; color: #656d76; }
#log { margin: 0; padding-left: 1.2rem; font-size: .88rem; max-height: 16rem; overflow: auto; } #log time { color: #656d76; font-variant-numeric: tabular-nums; }
#log .bad { color: var(--bad); } #log .good { color: var(--good); }
`;
