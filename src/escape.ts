/**
 * Client bytes as printable ASCII, for logs and messages: printable
 * characters stay, backslash and quotes are escaped, everything else becomes
 * \xHH. A client can therefore never put terminal escape sequences (or fake
 * log lines) on the operator's console. Truncated to `max` bytes.
 *
 * Lives outside cli/ because the server builds messages from client bytes too
 * (a bad PROXY header); src/cli/log.ts re-exports it.
 */
export function escapeClientBytes(bytes: Uint8Array, max = 80): string {
  let out = "";
  const end = Math.min(bytes.length, max);
  for (let i = 0; i < end; i++) {
    const byte = bytes[i]!;
    if (byte === 0x5c) out += "\\\\";
    else if (byte === 0x22) out += '\\"';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  if (bytes.length > max) out += `…(${bytes.length} bytes)`;
  return out;
}
