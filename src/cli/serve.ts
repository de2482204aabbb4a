/** `name-echo serve`: run the server in the foreground until Esc, Ctrl-C or SIGTERM. */
import { DEFAULTS, validateInteger } from "../options.js";
import { NameEchoServer, resolveServerOptions, type NameEchoServerOptions } from "../server/server.js";
import { parseCommandLine, usageError, type OptionSpec } from "./args.js";
import { createLogger, type Logger } from "./log.js";
import { BALANCES, isWorker, leaveCluster, runPrimary, runWorker, type Balance } from "./workers.js";

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
  --shutdown-timeout SECONDS  how long a graceful stop waits for clients (default ${DEFAULTS.shutdownTimeoutSeconds})
  --workers N               run N processes sharing the port (default 1); one stop stops all
  --balance round-robin|kernel  how workers share connections (default round-robin)
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
  quiet: { type: "boolean" },
  workers: { type: "string" },
  balance: { type: "string" },
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
    .replace(/^shutdownTimeout\b/, "--shutdown-timeout");
}

export async function serve(argv: string[]): Promise<number> {
  const { values } = parseCommandLine("serve", argv, SERVE_OPTIONS, 0);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const log = createLogger(values.quiet ? "warn" : "info");
  const workers = validateInteger(values.workers ?? 1, "--workers", 1, 1024);
  const balance = values.balance ?? "round-robin";
  if (!BALANCES.includes(balance as Balance)) {
    throw usageError(`--balance must be one of ${BALANCES.join(", ")}, not "${String(balance)}"`);
  }
  const stopHint = process.stdin.isTTY ? "press Esc to stop" : "Ctrl-C or SIGTERM to stop";
  const serverOptions = serverOptionsFromArgs(values);
  if (workers > 1 && !isWorker()) {
    // Validate here, so a bad option is one line from the primary, not one per worker.
    const { shutdownTimeout } = resolveServerOptions(serverOptions);
    return runPrimary({
      workers,
      balance: balance as Balance,
      log,
      shutdownTimeoutSeconds: shutdownTimeout,
      announce: (where, name) =>
        process.stdout.write(`listening on ${where} (replies add "${name}", ${workers} workers) — ${stopHint}\n`),
    }).done;
  }
  const server = new NameEchoServer(serverOptions);
  watchServer(server, log);
  const address = await server.listen().catch(leaveCluster);
  const where = address.family === "IPv6" ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  if (isWorker()) return runWorker(server, where, log);
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

function watchServer(server: NameEchoServer, log: Logger): void {
  server.on("connection", (connection) => {
    log.info(`connect ${connection.remote} (${server.connections.size} open)`);
  });
  server.on("disconnect", (connection, error) => {
    const seconds = ((Date.now() - connection.connectedAt) / 1000).toFixed(1);
    const { lines, bytesIn, bytesOut } = connection.stats;
    const how = error ? ` (${(error as NodeJS.ErrnoException).code ?? error.message})` : "";
    log.info(`disconnect ${connection.remote} after ${seconds}s, ${lines} lines, ${bytesIn} bytes in, ${bytesOut} out${how}`);
  });
  server.on("rejected", (remote, reason) => {
    log.warn(`rejected ${remote}: ${reason} (${server.options.maxConnections})`);
  });
  server.on("warning", (error) => {
    log.warn(`accept failed: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
  });
}
