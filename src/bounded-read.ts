/**
 * The body of a response from a server we do not control (an upstream provider, a claims hook),
 * read with a ceiling so that a huge or endless answer costs at most `max` bytes of memory.
 */

/**
 * The body's bytes, or null as soon as it is known to be longer than `max`: by its
 * `Content-Length`, or while reading, which then stops (the rest is never read). A body that
 * fails while being read (a timeout, a reset) throws what the read threw.
 */
export async function readAtMost(response: Response, max: number): Promise<Uint8Array | null> {
  const declared = Number(response.headers.get("Content-Length") ?? "0");
  if (declared > max) {
    await response.body?.cancel();
    return null;
  }
  if (response.body === null) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
