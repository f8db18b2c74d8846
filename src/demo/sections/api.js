// The protected API: one call with the access token, or one a second.
import { USERNAME_KEY } from "../app/mode.js";
import { $, describe, short } from "../app/ui.js";

/** Wires the API call button and the once-a-second switch. */
export function mountApi({ auth, render }) {
  async function callApi() {
    const started = performance.now();
    try {
      const response = await auth.fetch("/api/echo?from=demo");
      const body = await response.json();
      const took = Math.round(performance.now() - started);
      $("api-result").dataset.status = String(response.status);
      $("api-result").textContent =
        response.status === 200
          ? `200 in ${took} ms: the origin saw X-Auth-User ${body.headers["x-auth-user"]} (${localStorage.getItem(USERNAME_KEY) ?? "?"}), X-Auth-Session ${short(body.headers["x-auth-session"])}`
          : `${response.status}: ${JSON.stringify(body)}`;
    } catch (error) {
      $("api-result").dataset.status = "error";
      $("api-result").textContent = describe(error);
    }
    render();
  }

  $("call").addEventListener("click", () => void callApi());

  let autoTimer = null;
  $("auto").addEventListener("change", (event) => {
    clearInterval(autoTimer);
    autoTimer = event.target.checked ? setInterval(() => void callApi(), 1000) : null;
  });
}
