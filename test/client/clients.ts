import { IDBFactory } from "fake-indexeddb";
import { AuthClient, type AuthClientOptions } from "../../src/client";
import { channelMessagesDelivered, FakeGateway, FakeLocks, FakeStorage, fakeBroadcastChannel } from "./fake-gateway";

export const GATEWAY = "https://auth.example.com";

/** A client against the fake gateway, with the gateway's clock and no browser APIs unless given. */
export function clientFor(gateway: FakeGateway, options: Partial<AuthClientOptions> = {}, environment: AuthClientOptions["environment"] = {}) {
  return new AuthClient({
    storage: "memory",
    baseUrl: GATEWAY,
    fetch: gateway.fetch,
    ...options,
    environment: { localStorage: undefined, locks: undefined, BroadcastChannel: undefined, indexedDB: undefined, ...gateway.env, ...environment },
  });
}

/** The tabs of one origin: one localStorage, one IndexedDB, one lock manager, one channel bus. */
export function origin() {
  return { localStorage: new FakeStorage(), indexedDB: new IDBFactory(), locks: new FakeLocks(), BroadcastChannel: fakeBroadcastChannel() };
}

/** Lets every queued channel message arrive (and what their listeners did at once). */
export const settle = channelMessagesDelivered;

export async function loggedIn(gateway: FakeGateway, options: Partial<AuthClientOptions> = {}, environment: AuthClientOptions["environment"] = {}) {
  const client = clientFor(gateway, options, environment);
  await client.login("bob", "right");
  return client;
}
