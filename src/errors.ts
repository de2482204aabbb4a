/**
 * One error class for every failure name-echo reports, each with a stable
 * `code` so programs can branch on it and people get a message that says what
 * to do. Codes are listed in the README ("Error codes").
 */
export type NameEchoErrorCode =
  | "ERR_INVALID_OPTION"
  | "ERR_USAGE"
  | "ERR_ADDRESS_IN_USE"
  | "ERR_ADDRESS_NOT_AVAILABLE"
  | "ERR_PERMISSION_DENIED"
  | "ERR_SERVER_NOT_RUNNING"
  | "ERR_SERVER_RUNNING"
  | "ERR_CONNECTION_REFUSED"
  | "ERR_CONNECTION_RESET"
  | "ERR_CONNECTION_CLOSED"
  | "ERR_TIMEOUT"
  | "ERR_LINE_TOO_LONG"
  | "ERR_TLS"
  | "ERR_INVALID_LINE"
  | "ERR_SERVER_FULL"
  | "ERR_SERVER_ERROR"
  | "ERR_OUT_OF_FILE_DESCRIPTORS";

export class NameEchoError extends Error {
  readonly code: NameEchoErrorCode;

  constructor(code: NameEchoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NameEchoError";
    this.code = code;
  }
}

/** A bad option value (library) or command-line argument (CLI). */
export function invalidOption(message: string): NameEchoError {
  return new NameEchoError("ERR_INVALID_OPTION", message);
}

/**
 * Turns the system errors of listen() into one line an operator can act on.
 * Anything unexpected is returned unchanged, so real bugs keep their stack.
 */
export function explainListenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (code) {
    case "EADDRINUSE":
      return new NameEchoError(
        "ERR_ADDRESS_IN_USE",
        `port ${port} is already in use on ${host}: stop the other server or choose another port with --port (0 picks a free one)`,
        { cause: error },
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new NameEchoError(
        "ERR_ADDRESS_NOT_AVAILABLE",
        `cannot listen on ${where}: ${host} is not an address of this machine; use --host 127.0.0.1, 0.0.0.0 or ::`,
        { cause: error },
      );
    case "EACCES":
    case "EPERM":
      return new NameEchoError(
        "ERR_PERMISSION_DENIED",
        `not allowed to listen on ${where}: ports below 1024 need privileges; choose a port from 1024 to 65535 with --port`,
        { cause: error },
      );
    default:
      return error;
  }
}

/**
 * Turns the system errors of a client's connect() or of a broken connection
 * into one line a person can act on. Anything unexpected is returned
 * unchanged, so real bugs keep their stack.
 */
export function explainClientError(error: unknown, where: string): unknown {
  if (error instanceof NameEchoError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return new NameEchoError(
        "ERR_CONNECTION_REFUSED",
        `cannot connect to ${where}: connection refused; is a server running there? (start one with 'name-echo serve')`,
        { cause: error },
      );
    case "ECONNRESET":
    case "EPIPE":
      return new NameEchoError("ERR_CONNECTION_RESET", `the connection to ${where} was reset by the server`, { cause: error });
    case "ETIMEDOUT":
      return new NameEchoError("ERR_TIMEOUT", `cannot connect to ${where}: timed out; check the host and port, and any firewall`, {
        cause: error,
      });
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EADDRNOTAVAIL":
      return new NameEchoError(
        "ERR_ADDRESS_NOT_AVAILABLE",
        `cannot connect to ${where}: ${code === "ENOTFOUND" || code === "EAI_AGAIN" ? "unknown host" : "host unreachable"}; check the host name or address`,
        { cause: error },
      );
    default:
      return error;
  }
}
