/**
 * One error class for every failure name-echo reports, each with a stable
 * `code` so programs can branch on it and people get a message that says what
 * to do. Codes are listed in the README ("Error codes").
 */
import { Endpoint } from "./endpoint.js";

export const ERROR_CODES = [
  "ERR_INVALID_OPTION",
  "ERR_USAGE",
  "ERR_ADDRESS_IN_USE",
  "ERR_ADDRESS_NOT_AVAILABLE",
  "ERR_PERMISSION_DENIED",
  "ERR_SERVER_NOT_RUNNING",
  "ERR_SERVER_RUNNING",
  "ERR_CONNECTION_REFUSED",
  "ERR_CONNECTION_RESET",
  "ERR_CONNECTION_CLOSED",
  "ERR_TIMEOUT",
  "ERR_LINE_TOO_LONG",
  "ERR_TLS",
  "ERR_INVALID_LINE",
  "ERR_SERVER_FULL",
  "ERR_SERVER_ERROR",
  "ERR_OUT_OF_FILE_DESCRIPTORS",
] as const;

export type NameEchoErrorCode = (typeof ERROR_CODES)[number];

export interface NameEchoErrorOptions {
  cause?: unknown;
  /** See NameEchoError.option. */
  option?: string;
  /** See NameEchoError.problem. */
  problem?: string;
}

export class NameEchoError extends Error {
  readonly code: NameEchoErrorCode;
  /**
   * The library option the error is about ("maxLineLength"): set on every
   * ERR_INVALID_OPTION, and on the listen() errors that another host or port
   * would fix. A program (the CLI among them) can name it its own way.
   */
  readonly option: string | undefined;
  /**
   * What is wrong with `option`, in words that name no option
   * ("must be a whole number from 1 to 1073741824, not 0"): the message is
   * the option's name followed by this.
   */
  readonly problem: string | undefined;

  constructor(code: NameEchoErrorCode, message: string, options: NameEchoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NameEchoError";
    this.code = code;
    this.option = options.option;
    this.problem = options.problem;
  }
}

/** An error about one option: "<option> <problem>", with both kept apart for whoever names the option differently. */
export function optionError(code: NameEchoErrorCode, option: string, problem: string, cause?: unknown): NameEchoError {
  return new NameEchoError(code, `${option} ${problem}`, { option, problem, cause });
}

/** A bad option value (library) or command-line value (CLI); `problem` names no option. */
export function invalidOption(option: string, problem: string): NameEchoError {
  return optionError("ERR_INVALID_OPTION", option, problem);
}

/**
 * Turns the system errors of listen() into one line an operator can act on,
 * about the option that would fix it (`port` or `host`). `listener` names
 * what could not listen when it is not the server itself ("the HTTP port"),
 * and leads the message. Anything unexpected is returned unchanged, so real
 * bugs keep their stack.
 */
export function explainListenError(error: unknown, host: string, port: number, listener?: string): unknown {
  const explained = listenError(error, host, port);
  if (explained === undefined) return error;
  const [code, option, problem] = explained;
  const where = new Endpoint(host, port).toString();
  const message = `${listener === undefined ? "" : `${listener} cannot listen on ${where}: `}${option} ${problem}`;
  return new NameEchoError(code, message, { option, problem, cause: error });
}

function listenError(error: unknown, host: string, port: number): [NameEchoErrorCode, "port" | "host", string] | undefined {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = new Endpoint(host, port).toString();
  switch (code) {
    case "EADDRINUSE":
      return [
        "ERR_ADDRESS_IN_USE",
        "port",
        `${port} is already in use on ${host}: stop the other server or choose another port (0 picks a free one)`,
      ];
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return [
        "ERR_ADDRESS_NOT_AVAILABLE",
        "host",
        `${host} is not an address of this machine, so nothing can listen on ${where}; use 127.0.0.1, 0.0.0.0 or ::`,
      ];
    case "EACCES":
    case "EPERM":
      return ["ERR_PERMISSION_DENIED", "port", `${port} needs privileges to listen on (ports below 1024 do); choose one from 1024 to 65535`];
    case "EINVAL":
    case "EAI_NONAME":
      // getaddrinfo refusing the name outright: only a host the validator let through gets here.
      return ["ERR_INVALID_OPTION", "host", `${JSON.stringify(host)} cannot be looked up (${code}); use an IP address or a host name`];
    default:
      return undefined;
  }
}

/**
 * What each system error of a connection means, in words, with the code it
 * becomes: one table, so a refused connection reads the same from the
 * library, `name-echo connect`, `name-echo bench` and a TLS connect.
 */
const CONNECT_ERRORS: Readonly<Record<string, readonly [NameEchoErrorCode, string]>> = {
  ECONNREFUSED: ["ERR_CONNECTION_REFUSED", "connection refused; is a server running there?"],
  ETIMEDOUT: ["ERR_TIMEOUT", "timed out; check the host and port, and any firewall"],
  ENOTFOUND: ["ERR_ADDRESS_NOT_AVAILABLE", "unknown host; check the host name or address"],
  EAI_AGAIN: ["ERR_ADDRESS_NOT_AVAILABLE", "unknown host; check the host name or address"],
  EHOSTUNREACH: ["ERR_ADDRESS_NOT_AVAILABLE", "host unreachable; check the host name or address"],
  ENETUNREACH: ["ERR_ADDRESS_NOT_AVAILABLE", "host unreachable; check the host name or address"],
  EADDRNOTAVAIL: ["ERR_ADDRESS_NOT_AVAILABLE", "host unreachable; check the host name or address"],
};

/**
 * A connection's system error in the table's words ("connection refused; is
 * a server running there?"), for a tally that goes on after it (bench); the
 * system's code where the table has no words for it.
 */
export function describeConnectionError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ECONNRESET" || code === "EPIPE") return "connection reset by the server";
  const known = code === undefined ? undefined : CONNECT_ERRORS[code];
  if (known !== undefined) return known[1];
  return code ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Turns the system errors of a client's connect() or of a broken connection
 * into one line a person can act on. Anything unexpected is returned
 * unchanged, so real bugs keep their stack.
 */
export function explainClientError(error: unknown, where: string): unknown {
  if (error instanceof NameEchoError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new NameEchoError("ERR_CONNECTION_RESET", `the connection to ${where} was reset by the server`, { cause: error });
  }
  const known = code === undefined ? undefined : CONNECT_ERRORS[code];
  if (known === undefined) return error;
  return new NameEchoError(known[0], `cannot connect to ${where}: ${known[1]}`, { cause: error });
}
