/**
 * The operator's log: one line per event on stderr. Anything that came from a
 * client is escaped first, so a client can never put terminal escape
 * sequences (or fake log lines) on the operator's console.
 */

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const at = (wanted: LogLevel) => (message: string): void => {
    // Escaped here as well as at the source: a control character that slips
    // into any message (an error text quoting client input, say) still cannot
    // drive the terminal or start a fake log line.
    if (RANK[wanted] >= RANK[level]) write(`${new Date().toISOString()} ${wanted.padEnd(5)} ${escapeControls(message)}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** C0 controls, DEL and C1 controls as \xHH; everything else (printable Unicode) stays. */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Client bytes as printable ASCII: printable characters stay, backslash and
 * quotes are escaped, everything else becomes \xHH. Truncated to `max` bytes.
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
