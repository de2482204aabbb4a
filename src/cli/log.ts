/**
 * The operator's log: one line per event (start, connect, disconnect, limit
 * hit, stop) on stderr.
 *
 * - At a terminal: one short human line, `TIME LEVEL message`, formatted
 *   here (no pino-pretty: it is a dozen packages and a worker thread for
 *   what one template string does here).
 * - Otherwise (journald, a container, a pipe): JSON lines from pino, with the
 *   message plus structured fields (event, remote, counts) that log
 *   pipelines can filter on without parsing text.
 *
 * Anything that came from a client is escaped first (escapeClientBytes), so
 * a client can never put terminal escape sequences or fake log lines on the
 * operator's console; in JSON mode the JSON encoding escapes it again.
 *
 * Both formats go through the same bounded output (LogOutput): writing a
 * line never blocks serving, and a log nobody reads drops lines and counts
 * them instead of holding them without bound.
 */
import { pino, type Logger as PinoLogger } from "pino";
import { escapeClientText } from "../escape.js";
import { LogOutput } from "./log-output.js";

export { escapeClientBytes } from "../escape.js";

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "auto" | "pretty" | "json";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error", "silent"];
export const LOG_FORMATS: readonly LogFormat[] = ["auto", "pretty", "json"];

/** Structured fields for JSON logs; the human format shows the message only, which says the same. */
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether a message at this level would be written: check before building costly messages. */
  enabled(level: LogLevel): boolean;
  /**
   * Writes what is still buffered, waiting for a slow reader at most about a
   * second; call it last on a graceful stop. (Every other way out flushes by itself.)
   */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  /** "auto" (the default): pretty when the output is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Where lines go; default stderr, through a bounded buffer (LogOutput). */
  write?: (line: string) => void;
  /** Whether the output is a terminal (decides "auto"); default process.stderr.isTTY. */
  isTTY?: boolean;
}

/** A logger at `level`, in the format asked for ("auto": pretty at a terminal, JSON otherwise). */
export function createLogger(options: LoggerOptions): Logger {
  const format = resolveFormat(options.format ?? "auto", options.isTTY ?? process.stderr.isTTY === true);
  const output = options.write ? undefined : new LogOutput();
  const sink = output
    ? { write: (line: string) => output.write(line), close: () => output.close() }
    : { write: options.write!, close: async () => {} };
  const logger = format === "json" ? jsonLogger(options.level, sink) : prettyLogger(options.level, sink);
  output?.onDrops((count) => logger.warn(droppedLinesMessage(count), { event: "log-dropped", dropped: count }));
  return logger;
}

/** "12,345 log lines dropped: the log output was not being read" */
export function droppedLinesMessage(count: number): string {
  return `${count.toLocaleString("en-US")} log ${count === 1 ? "line" : "lines"} dropped: the log output was not being read`;
}

interface Sink {
  write(line: string): void;
  close(): Promise<void>;
}

export function resolveFormat(format: LogFormat, isTTY: boolean): "pretty" | "json" {
  if (format === "auto") return isTTY ? "pretty" : "json";
  return format;
}

function prettyLogger(level: LogLevel, { write, close }: Sink): Logger {
  const at =
    (wanted: Exclude<LogLevel, "silent">) =>
    (message: string): void => {
      // Escaped here as well as at the source: a control character that slips
      // into any message (an error text quoting client input, say) still cannot
      // drive the terminal or start a fake log line. (JSON lines escape them anyway.)
      if (RANK[wanted] >= RANK[level]) write(`${new Date().toISOString()} ${wanted.padEnd(5)} ${escapeClientText(message)}\n`);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    enabled: (wanted) => RANK[wanted] >= RANK[level],
    close,
  };
}

function jsonLogger(level: LogLevel, sink: Sink): Logger {
  const destination = { write: sink.write };
  const logger: PinoLogger = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" rather than 30: readable without a lookup table.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const at =
    (wanted: Exclude<LogLevel, "silent">) =>
    (message: string, fields?: LogFields): void => {
      if (fields) logger[wanted](fields, message);
      else logger[wanted](message);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    enabled: (wanted) => wanted !== "silent" && logger.isLevelEnabled(wanted),
    close: sink.close,
  };
}
