import { describe, expect, it } from "vitest";
import { addPasskey, drainEvents, eventsOf, loginWithPasskey, sessionOfNewUser, SoftwarePasskey } from "../helpers";
import { deliveriesAbout } from "../webhook-receiver-client";

// With the default WEBHOOK_EVENTS, a cloned authenticator (passkey_counter_regressed) reaches the
// team's receiver as a signed webhook; adding and removing passkeys stay in the audit trail only.

describe("passkey webhooks", () => {
  it("sends passkey_counter_regressed, signed, and not passkey_added", async () => {
    const user = await sessionOfNewUser("pk-hook");
    const passkey = await SoftwarePasskey.make();
    expect((await addPasskey(user.access_token, passkey)).status).toBe(201);
    expect((await loginWithPasskey(passkey, { tweaks: { counter: 5 } })).status).toBe(200);
    expect((await loginWithPasskey(passkey, { tweaks: { counter: 5 } })).status).toBe(401);
    await drainEvents(user.sub);

    const deliveries = await deliveriesAbout(user.sub);
    expect(deliveries.map((delivery) => [delivery.payload.type, delivery.verified])).toEqual([["passkey_counter_regressed", true]]);
    const [event] = await eventsOf(user.sub, "passkey_counter_regressed");
    expect(deliveries[0]!.payload.data).toEqual(event);
    expect(await eventsOf(user.sub, "passkey_added")).toHaveLength(1);
  });
});
