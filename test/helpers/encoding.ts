// Bytes and base64 text, byte for byte: forged tokens and raw request bodies are built from these.

const encoder = new TextEncoder();

/** UTF-8 bytes of a string; bytes stay as they are. */
export function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Standard base64 with padding (RFC 4648 section 4). */
export function base64(data: Uint8Array | string): string {
  const bytes = bytesOf(data);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Base64url without padding (RFC 7515 section 2). */
export function base64url(data: Uint8Array | string): string {
  return base64(data).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of base64url text (padding optional). */
export function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/** The parts one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
