import type { UserMessageData } from "../wire";

/**
 * Local dev only: the last messages to users that the queue's consumer wrote to the log
 * (`DEV_MESSAGE_LOG` on, no `WEBHOOK_URL`), kept in this isolate's memory so the demo can show
 * them as a dev inbox (`GET /demo/inbox`). `wrangler dev` runs the consumer and the fetch handler
 * in one isolate, so what one writes the other reads; nothing is stored anywhere, a restart
 * empties it, and in production (where `npm run deploy` refuses `DEV_MESSAGE_LOG`) it stays empty.
 */

/** A message as the inbox shows it. `at` is ISO 8601. */
export interface DevInboxMessage {
  id: string;
  type: string;
  at: string;
  data: UserMessageData;
}

/** The inbox keeps the newest of these; older ones fall off. */
export const DEV_INBOX_SIZE = 20;

const inbox: DevInboxMessage[] = [];

/** Keeps a message the consumer just logged (once per webhook id: a redelivery is not a second message). */
export function keepInDevInbox(message: DevInboxMessage): void {
  if (inbox.some((kept) => kept.id === message.id)) return;
  inbox.unshift(message);
  inbox.length = Math.min(inbox.length, DEV_INBOX_SIZE);
}

/** The kept messages, newest first. */
export function devInbox(): DevInboxMessage[] {
  return [...inbox];
}
