// The page's small pieces: elements by id, the event log, how an error reads, short ids and times.
import { AuthClientError } from "../../client/index.ts";

export const $ = (id) => document.getElementById(id);

/** Adds a line to the page's log (newest first, thirty at most); `tone` is "good", "bad" or "". */
export function log(text, tone = "") {
  const item = document.createElement("li");
  item.className = tone;
  const stamp = document.createElement("time");
  stamp.textContent = new Date().toLocaleTimeString();
  item.append(stamp, " ", text);
  $("log").prepend(item);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

/** An error as the log shows it: the client's code and status first. */
export function describe(error) {
  if (error instanceof AuthClientError) return `${error.code}${error.status ? ` (${error.status})` : ""}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** The username and password fields. */
export function credentials() {
  return { username: $("username").value.trim(), password: $("password").value };
}

export const short = (id) => (id ? `${id.slice(0, 8)}…` : "?");
export const time = (iso) => new Date(iso).toLocaleTimeString();
export const secondsLeft = (session) => Math.round((session.accessTokenExpiresAt - Date.now()) / 1000);
