/** `name-echo serve`: run the server in the foreground until Esc, Ctrl-C or SIGTERM. */
import { DEFAULTS } from "../options.js";
import { NameEchoServer, type NameEchoServerOptions } from "../server/server.js";
import { parseCommandLine, type OptionSpec } from "./args.js";
import { createLogger, type Logger } from "./log.js";
import { WarningThrottle } from "./warning-throttle.js";

export const SERVE_HELP = `Usage: name-echo serve [options]

Runs the server: every line a client sends comes back with the name added
("Hello" -> "Hello ${DEFAULTS.name}"). Stop it with Esc, Ctrl-C or SIGTERM; a second
Ctrl-C or SIGTERM drops the remaining clients at once.

Options:
  --host HOST               address to listen on (default ${DEFAULTS.host}; 0.0.0.0 or :: for the network)
  --port PORT               port to listen on, 0 for any free port (default ${DEFAULTS.port})
  --name NAME               the name added to every line (default ${DEFAULTS.name}; printable, at most 256 bytes)
  --max-line-length BYTES   longest accepted line (default ${DEFAULTS.maxLineLength})
  --max-connections N       most clients at once (default ${DEFAULTS.maxConnections})
  --idle-timeout SECONDS    close clients silent this long, 0 = never (default ${DEFAULTS.idleTimeoutSeconds})
  --max-unsent-bytes BYTES  unsent replies held per client before reading from it pauses (default ${DEFAULTS.maxUnsentBytes})
  --shutdown-timeout SECONDS  how long a graceful stop waits for clients (default ${DEFAULTS.shutdownTimeoutSeconds})
  --quiet                   log warnings and errors only (no line per connection)
  -h, --help                show this help
`;

const SERVE_OPTIONS: OptionSpec = {
  host: { type: "string" },
  port: { type: "string" },
  name: { type: "string" },
  "max-line-length": { type: "string" },
  "max-connections": { type: "string" },
  "idle-timeout": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "max-unsent-bytes": { type: "string" },
  quiet: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** The server options given on the command line; validation is the library's. */
export function serverOptionsFromArgs(values: Record<string, string | boolean | undefined>): NameEchoServerOptions {
  const options: Record<string, unknown> = {};
  const map: Array<[flag: string, option: keyof NameEchoServerOptions]> = [
    ["host", "host"],
    ["port", "port"],
    ["name", "name"],
    ["max-line-length", "maxLineLength"],
    ["max-connections", "maxConnections"],
    ["idle-timeout", "idleTimeout"],
    ["shutdown-timeout", "shutdownTimeout"],
    ["max-unsent-bytes", "maxUnsentBytes"],
  ];
  for (const [flag, option] of map) {
    if (values[flag] !== undefined) options[option] = values[flag];
  }
  return options as NameEchoServerOptions;
}

/** Option names in the library's messages, spelled as the flags a CLI user types. */
export function flagSpelling(message: string): string {
  return message
    .replace(/^port\b/, "--port")
    .replace(/^host\b/, "--host")
    .replace(/^name\b/, "--name")
    .replace(/^maxLineLength\b/, "--max-line-length")
    .replace(/^maxConnections\b/, "--max-connections")
    .replace(/^idleTimeout\b/, "--idle-timeout")
    .replace(/^shutdownTimeout\b/, "--shutdown-timeout")
    .replace(/^maxUnsentBytes\b/, "--max-unsent-bytes");
}

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseCommandLine("serve", argv, SERVE_OPTIONS, 0);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const log = createLogger(values.quiet ? "warn" : "info");
  const server = new NameEchoServer(serverOptionsFromArgs(values));
  const warnings = new WarningThrottle((message) => log.warn(message));
  const flushLog = watchServer(server, log, warnings);
  const address = await server.listen();
  const where = address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  const stopHint = process.stdin.isTTY ? "press Esc to stop" : "Ctrl-C or SIGTERM to stop";
  process.stdout.write(`listening on ${where} (replies add "${server.options.name}") — ${stopHint}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string): void => {
      if (stopping) {
        log.warn(`${why} again: dropping ${server.connections.size} client(s) now`);
        void server.destroy();
        return;
      }
      stopping = true;
      log.info(`${why}: stopping; ${server.connections.size} client(s) connected`);
      server.close().then(() => {
        process.off("SIGINT", onSigint);
        process.off("SIGTERM", onSigterm);
        flushLog();
        log.info("stopped");
        resolve(0);
      });
    };
    const onSigint = (): void => stop("Ctrl-C");
    const onSigterm = (): void => stop("SIGTERM");
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
  });
}

/** Logs what the server reports; returns a function that writes any pending flood summaries (at stop). */
function watchServer(server: NameEchoServer, log: Logger, warnings: WarningThrottle): () => void {
  const recoveries = new WarningThrottle((message) => log.info(message), { windowMs: warnings.windowMs });
  server.on("connection", (connection) => {
    log.info(`connect ${connection.remote} (${server.connections.size} open)`);
  });
  server.on("disconnect", (connection, error) => {
    const seconds = ((Date.now() - connection.connectedAt) / 1000).toFixed(1);
    const { lines, bytesIn, bytesOut } = connection.stats;
    const how = error ? ` (${(error as NodeJS.ErrnoException).code ?? error.message})` : "";
    log.info(`disconnect ${connection.remote} after ${seconds}s, ${lines} lines, ${bytesIn} bytes in, ${bytesOut} out${how}`);
  });
  // A storm of rejections or accept failures is one line now and one summary per window, not a line each.
  server.on("rejected", (remote, reason) => {
    // Clients refused for lack of descriptors are counted in the "available
    // again" line; the shortage itself was announced once ('warning').
    if (reason !== "max-connections") return;
    const why = `server full (--max-connections ${server.options.maxConnections})`;
    warnings.warn(`rejected: ${why}`, `rejected ${remote}: ${why}`);
  });
  server.on("warning", (error) => {
    const code = (error as NodeJS.ErrnoException).code;
    // Keyed by code: a server hovering at its descriptor limit says so once per window, not once per flap.
    const what = code === "ERR_OUT_OF_FILE_DESCRIPTORS" ? code : `accept failed: ${code ?? error.message}`;
    warnings.warn(what, code === "ERR_OUT_OF_FILE_DESCRIPTORS" ? error.message : what);
  });
  server.on("recovered", (_reason, turnedAway) => {
    recoveries.warn(
      "file descriptors available again",
      `file descriptors available again: accepting new clients (${turnedAway} turned away meanwhile)`,
    );
  });
  return () => {
    warnings.flush();
    recoveries.flush();
  };
}
