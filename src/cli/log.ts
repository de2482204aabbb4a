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
    if (RANK[wanted] >= RANK[level]) write(`${new Date().toISOString()} ${wanted.padEnd(5)} ${message}\n`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export { escapeClientBytes } from "../escape.js";
