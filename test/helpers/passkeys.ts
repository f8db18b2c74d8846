// Passkey ceremonies through the worker, answered by the software authenticator.
import type { PasskeyCeremony, PasskeyCreationOptions, PasskeyRequestOptions } from "../../src/wire";
import { SoftwarePasskey, type ResponseTweaks } from "./authenticator";
import { bearer, postJson, type Vars } from "./requests";

export { SoftwarePasskey, type ResponseTweaks };

/** `POST /auth/passkeys/registration` for a signed-in user: the ceremony and options (asserting the 200). */
export async function registrationCeremony(accessToken: string): Promise<PasskeyCeremony<PasskeyCreationOptions>> {
  const response = await postJson("/auth/passkeys/registration", {}, bearer(accessToken));
  if (response.status !== 200) throw new Error(`registration options: ${response.status} ${await response.text()}`);
  return response.json();
}

/** `POST /auth/passkeys/authentication`: the ceremony and options (asserting the 200). */
export async function authenticationCeremony(vars?: Vars): Promise<PasskeyCeremony<PasskeyRequestOptions>> {
  const response = await postJson("/auth/passkeys/authentication", {}, {}, vars);
  if (response.status !== 200) throw new Error(`authentication options: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Registers `passkey` for the user of `accessToken`: options, the authenticator's answer, `POST /auth/passkeys`. */
export async function addPasskey(accessToken: string, passkey: SoftwarePasskey, { name, tweaks }: { name?: string; tweaks?: ResponseTweaks } = {}) {
  const { ceremony, options } = await registrationCeremony(accessToken);
  const credential = await passkey.create(options, tweaks);
  return postJson("/auth/passkeys", { ceremony, credential, ...(name === undefined ? {} : { name }) }, bearer(accessToken));
}

/** Signs in with `passkey`: options, the authenticator's assertion, `POST /auth/passkeys/login`. */
export async function loginWithPasskey(passkey: SoftwarePasskey, { tweaks, headers = {} }: { tweaks?: ResponseTweaks; headers?: Record<string, string> } = {}) {
  const { ceremony, options } = await authenticationCeremony();
  const credential = await passkey.get(options, tweaks);
  return postJson("/auth/passkeys/login", { ceremony, credential }, headers);
}
