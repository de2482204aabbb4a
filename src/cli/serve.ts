/** `name-echo serve`: run the server in the foreground until Esc, Ctrl-C or SIGTERM. */
import { DEFAULTS, integerRule } from "../options.js";
import { defaultMaxClientMemory } from "../server/client-memory.js";
import { NameEchoServer, type NameEchoServerOptions } from "../server/server.js";
import { resolveServerOptions, SERVER_OPTION_RULES } from "../server/server-options.js";
import { isCtrlC, isEscape } from "../protocol/keys.js";
import { watchKeys, type StopWatching } from "../terminal/watch-keys.js";
import { oneOf, parseCommandLine, type OptionSpec, type ParsedArgs } from "./args.js";
import { applyEnvironment, environmentHelp, flagSpeller, inCommandLineTerms } from "./config.js";
import type { Logger } from "./log.js";
import { ConnectionLogThrottle, WarningThrottle } from "./warning-throttle.js";
import { connectionLogsPerSecondFromArgs, httpAddressFromArgs, loggerFromArgs, OPS_HELP, OPS_OPTIONS, opsServerOptions, startOps, startPrimaryOps, startWorkerOps, watchTrace, type RunningOps } from "./serve-ops.js";
import { BALANCE_CHOICES, decideBalance, isWorker, leaveCluster, prepareWorkerListening, runPrimary, runWorker, workerListenOptions } from "./workers.js";

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
  --max-client-memory BYTES  bytes held for all clients together; past it the biggest are closed, 0 = no bound (default: 1/16 of memory, 32 MiB to 1 GiB)
  --max-connections-per-ip N  most clients at once from one address, 0 = no limit (default ${DEFAULTS.maxConnectionsPerIp})
  --linger-timeout SECONDS  a client told to go that takes nothing this long is dropped (default ${DEFAULTS.lingerTimeoutSeconds})
  --workers N               run N processes sharing the port (default 1); one stop stops all
  --balance auto|reuseport|shared|round-robin  how workers share the port (default auto: reuseport
                            where this Node has it, else shared; see the README's --workers)
  --transport auto|handle|stream  libuv's TCP handle or net.Socket (default auto: the handle unless TLS, where this Node allows it)
  --offer-echo              offer every client server echo at connect (telnet WILL ECHO, WILL SUPPRESS-GO-AHEAD,
                            DO NAWS): Linux telnet starts in character mode, where UTF-8 is typed intact;
                            nc and scripts then get those bytes too (default: off, negotiate only when asked)
  --quiet                   log warnings and errors only (no line per connection)
${OPS_HELP}  -h, --help                show this help
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
  "max-client-memory": { type: "string" },
  "max-connections-per-ip": { type: "string" },
  "linger-timeout": { type: "string" },
  quiet: { type: "boolean" },
  workers: { type: "string" },
  balance: { type: "string" },
  transport: { type: "string" },
  "offer-echo": { type: "boolean" },
  ...OPS_OPTIONS,
  help: { type: "boolean", short: "h" },
};

/**
 * Library option ↔ command-line flag: one table behind reading the flags,
 * naming the flag in an error message, and naming the NAME_ECHO_* variable
 * when a value from the environment is refused.
 */
const FLAG_OF_OPTION: ReadonlyArray<[option: keyof typeof SERVER_OPTION_RULES, flag: string]> = [
  ["host", "host"],
  ["port", "port"],
  ["name", "name"],
  ["maxLineLength", "max-line-length"],
  ["maxConnections", "max-connections"],
  ["idleTimeout", "idle-timeout"],
  ["shutdownTimeout", "shutdown-timeout"],
  ["maxUnsentBytes", "max-unsent-bytes"],
  ["maxClientMemory", "max-client-memory"],
  ["maxConnectionsPerIp", "max-connections-per-ip"],
  ["lingerTimeout", "linger-timeout"],
  ["transport", "transport"],
  ["offerEcho", "offer-echo"],
];

/** Server option → flag(s), to name in an error what the user typed. */
const OPTION_FLAGS: Readonly<Record<string, string | readonly string[]>> = {
  ...Object.fromEntries(FLAG_OF_OPTION),
  // Read by serve-ops.ts, with the other operations flags.
  handshakeTimeout: "handshake-timeout",
  proxyProtocol: "proxy-protocol",
  tls: ["tls-cert", "tls-key"],
};

const WORKERS_RULE = integerRule(1, 1024);

/** The server options given on the command line, parsed from text by the library's rules. */
export function serverOptionsFromArgs(
  values: Record<string, string | boolean | undefined>,
  spell: (flag: string) => string = flagSpeller(),
): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
  for (const [option, flag] of FLAG_OF_OPTION) {
    const text = values[flag];
    // A boolean flag (--offer-echo) is true when given; its variable was read as a boolean too.
    if (typeof text === "boolean") Object.assign(options, { [option]: text });
    else if (typeof text === "string") Object.assign(options, { [option]: SERVER_OPTION_RULES[option].fromText(text, spell(flag)) });
  }
  return options;
}

export async function serve(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("serve", argv, SERVE_OPTIONS, 0);
  if (parsed.values.help) {
    process.stdout.write(SERVE_HELP + environmentHelp(SERVE_OPTIONS));
    return 0;
  }
  // NAME_ECHO_* variables fill in what the command line left out.
  const configured = applyEnvironment(SERVE_OPTIONS, parsed.values);
  try {
    return await serveConfigured(configured.values, configured.spell);
  } catch (error) {
    // The library names its options; say the flag or the variable the user set instead.
    throw inCommandLineTerms(error, OPTION_FLAGS, configured.spell);
  }
}

async function serveConfigured(values: ParsedArgs["values"], spell: (flag: string) => string): Promise<number> {
  const log = loggerFromArgs(values, spell);
  const workers = typeof values.workers === "string" ? WORKERS_RULE.fromText(values.workers, spell("workers")) : 1;
  const balance = oneOf(typeof values.balance === "string" ? values.balance : "auto", BALANCE_CHOICES, spell("balance"));
  // Checked now, with the other values, so a bad --http-port is reported as such (exit 2) even when --port is taken.
  httpAddressFromArgs(values, spell);
  const serverOptions: NameEchoServerOptions = {
    ...serverOptionsFromArgs(values, spell),
    ...opsServerOptions(values, spell),
    // Each connection that is logged keeps the address it was logged with (watchServer), so no
    // connection needs its endpoints looked up at accept: most under a flood are only counted.
    captureEndpoints: false,
  };
  // The default client memory is the machine's share for all of name-echo: each worker gets its part.
  if (workers > 1 && serverOptions.maxClientMemory === undefined) serverOptions.maxClientMemory = Math.floor(defaultMaxClientMemory() / workers);
  // Only a terminal has an Esc key, and only the process that owns it watches
  // it. A pipe or /dev/null on stdin is never read, so its EOF cannot stop
  // the server (systemd, nohup, CI, &).
  const keyboard = process.stdin.isTTY === true && !isWorker();
  const stopHint = keyboard ? "press Esc to stop" : "Ctrl-C or SIGTERM to stop";

  if (workers > 1 && !isWorker()) {
    // Validate here, so a bad option is one line from the primary, not one per worker.
    const { shutdownTimeout, host, port } = resolveServerOptions(serverOptions);
    const { mode, why } = decideBalance(balance, spell("balance"));
    // The HTTP port (if asked for) first: a port in use stops us before any worker starts.
    const ops = await startPrimaryOps(values, spell);
    const workerEnvironment = await prepareWorkerListening(mode, host, port).catch(async (error: unknown) => {
      await ops.close();
      throw error;
    });
    if (ops.pageUrl) log.info(`status page on ${ops.pageUrl}, metrics on ${ops.metricsUrl} (all workers)`, { event: "http", page: ops.pageUrl, metrics: ops.metricsUrl });
    const primary = runPrimary({
      workers,
      balance: mode,
      workerEnvironment,
      log,
      shutdownTimeoutSeconds: shutdownTimeout,
      announce: (where, name, transport) =>
        process.stdout.write(`listening on ${where} (replies add "${name}", ${workers} workers, balance ${mode} (${why}), ${transport} transport) — ${stopHint}\n`),
    });
    const stopKeys = keyboard ? watchStopKeys(primary.stop) : undefined;
    try {
      return await primary.done;
    } finally {
      stopKeys?.();
      await ops.close();
      await log.close();
    }
  }

  const server = new NameEchoServer(isWorker() ? { ...serverOptions, ...workerListenOptions() } : serverOptions);
  const flushLog = watchServer(server, log, connectionLogsPerSecondFromArgs(values, spell));
  watchTrace(server);
  if (isWorker()) {
    await startWorkerOps(server, values);
    const address = await server.listen().catch((error: unknown) => leaveCluster(inCommandLineTerms(error, OPTION_FLAGS, spell)));
    logTransportFallback(server, log);
    const where = address.toString();
    return runWorker(server, where, log).finally(async () => {
      flushLog();
      await log.close();
    });
  }

  // Undone in reverse order on every way out: stopped, or an exception.
  const cleanups: Array<() => void> = [];
  let stopping = false;
  let ops: RunningOps | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  // Esc, Ctrl-C (a key in raw mode, a signal otherwise) and SIGTERM all land here.
  const stop = (why: string): void => {
    if (stopping) {
      log.warn(`${why} again: dropping ${server.connections.size} client(s) now`, { event: "stop-now", clients: server.connections.size });
      void server.destroy();
      return;
    }
    stopping = true;
    log.info(`${why}: stopping; ${server.connections.size} client(s) connected`, { event: "stopping", signal: why, clients: server.connections.size });
    // /readyz answers 503 from here on (the server is "closing") and the
    // metrics port stays up until the last client is gone.
    void server
      .close()
      .then(() => ops?.close())
      .then(() => {
        flushLog();
        log.info("stopped", { event: "stop" });
        stopped();
      });
  };
  try {
    // Signals are taken before listening, so a SIGTERM at any moment is a
    // graceful stop rather than the default instant death.
    const onSigint = (): void => stop("Ctrl-C");
    const onSigterm = (): void => stop("SIGTERM");
    process.on("SIGINT", onSigint);
    process.on("SIGTERM", onSigterm);
    cleanups.push(() => {
      process.off("SIGINT", onSigint);
      process.off("SIGTERM", onSigterm);
    });

    let address;
    try {
      address = await server.listen();
    } catch (error) {
      // Told to stop while the port was being bound: that is a clean stop.
      if (stopping && (error as { code?: string }).code === "ERR_SERVER_NOT_RUNNING") return 0;
      throw error;
    }
    ops = await startOps(server, values, spell).catch(async (error: unknown) => {
      await server.destroy();
      throw error;
    });
    const where = address.toString();
    process.stdout.write(`listening on ${where} (replies add "${server.options.name}", ${server.transport} transport) — ${stopHint}\n`);
    logTransportFallback(server, log);
    const extras = `${server.options.tls ? " (TLS)" : ""}${server.options.proxyProtocol ? " (PROXY protocol)" : ""}${server.options.offerEcho ? " (offering telnet echo at connect)" : ""}`;
    log.info(`started on ${where}${extras}${ops.pageUrl ? `, status page on ${ops.pageUrl}, metrics on ${ops.metricsUrl}` : ""}`, {
      event: "start",
      address: address.address,
      port: address.port,
      name: server.options.name,
      tls: server.options.tls !== undefined,
      proxyProtocol: server.options.proxyProtocol,
      offerEcho: server.options.offerEcho,
      transport: server.transport,
      metrics: ops.metricsUrl,
      page: ops.pageUrl,
    });

    // Gives the terminal back its mode (echo, line editing, Ctrl-C as SIGINT) on the way out.
    if (keyboard && !stopping) cleanups.push(watchStopKeys(stop));
    await done;
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
    // Last: the buffered log lines ("stopped" among them) reach the reader, if it reads.
    await log.close();
  }
}

/** The one line that says why "auto" serves with the stream transport, when it does. */
function logTransportFallback(server: NameEchoServer, log: Logger): void {
  const reason = server.transportFallback;
  if (reason !== null) log.warn(`serving with the stream transport: ${reason}`, { event: "transport-fallback", reason });
}

/** Esc and Ctrl-C at the server's terminal: the same stop as SIGINT and SIGTERM. */
function watchStopKeys(stop: (why: string) => void): StopWatching {
  return watchKeys(process.stdin, (key) => {
    if (isEscape(key)) stop("Esc");
    // Raw mode turns Ctrl-C into a byte; it means what SIGINT means.
    else if (isCtrlC(key)) stop("Ctrl-C");
    // Anything else (arrows, F-keys, Alt-x, text) is not a request to stop.
  });
}


/**
 * Logs what the server reports; returns a function that writes any pending
 * flood summaries (at stop). Nothing a client does can write more than a
 * bounded number of lines a second: connections past
 * `connectionLogsPerSecond`, and repeats of a limit or a warning within its
 * window, come out as summary lines.
 */
function watchServer(server: NameEchoServer, log: Logger, connectionLogsPerSecond: number): () => void {
  // A storm of rejections or accept failures is one line now and one
  // summary per window ("… repeated 532 times in the last 10 s"), not a line each.
  const warnings = new WarningThrottle((message) => log.warn(message, { event: "warning" }));
  const recoveries = new WarningThrottle((message) => log.info(message, { event: "recovered" }));
  // Limits clients hit (a line too long, an idle timeout): the same, at info.
  const limits = new WarningThrottle((message, fields) => log.info(message, fields ?? { event: "limit" }));
  const connections = new ConnectionLogThrottle((message, counts) => log.info(message, { event: "connections-not-logged", ...counts }), {
    perSecond: connectionLogsPerSecond,
  });
  // Per-connection lines only when they would be written: at --log-level warn
  // a connection costs the logger nothing at all.
  if (log.enabled("info")) {
    // The connections whose connect was logged (so their disconnect is
    // too), with the client's address as logged. A connection that is only
    // counted costs no address lookup and no listener.
    const logged = new WeakMap<object, string>();
    server.on("connection", (connection) => {
      if (!connections.admitConnect()) return;
      const remote = String(connection.remote);
      logged.set(connection, remote);
      log.info(`connect ${remote} (${server.connections.size} open)`, { event: "connect", remote, open: server.connections.size });
    });
    // One listener for all connections: a listener (and closure) per connection costs memory on every one.
    server.on("limit", (connection, kind) => {
      const remote = String(connection.remote);
      if (kind === "line-too-long") {
        limits.warn("line too long", `line too long from ${remote} (limit ${server.options.maxLineLength} bytes)`, { event: "limit", kind, remote });
      } else {
        limits.warn("idle timeout", `idle ${remote}: no input for ${server.options.idleTimeout}s, closing`, { event: "limit", kind, remote });
      }
    });
    server.on("disconnect", (connection, error) => {
      const remote = logged.get(connection);
      if (remote === undefined) {
        connections.countDisconnect();
        return;
      }
      const seconds = (Date.now() - connection.connectedAt) / 1000;
      const { lines, bytesIn, bytesOut } = connection.stats;
      const code = error ? ((error as NodeJS.ErrnoException).code ?? error.message) : undefined;
      const how = code ? ` (${code})` : "";
      log.info(`disconnect ${remote} after ${seconds.toFixed(1)}s, ${lines} lines, ${bytesIn} bytes in, ${bytesOut} out${how}`, {
        event: "disconnect",
        remote,
        seconds,
        lines,
        bytesIn,
        bytesOut,
        ...(code ? { error: code } : {}),
      });
    });
  }
  server.on("rejected", (remote, reason, detail) => {
    // Clients refused for lack of descriptors are counted in the "available
    // again" line; the shortage itself was announced once ('warning').
    if (reason === "file-descriptors") return;
    const why =
      reason === "max-connections"
        ? `server full (--max-connections ${server.options.maxConnections})`
        : reason === "max-connections-per-ip"
          ? `too many from ${remote.address} (--max-connections-per-ip ${server.options.maxConnectionsPerIp})`
          : reason;
    const message = `rejected ${remote}: ${why}${detail ? `: ${detail}` : ""}`;
    warnings.warn(`rejected: ${why}`, message);
  });
  server.on("warning", (error) => {
    const code = (error as NodeJS.ErrnoException).code;
    // Keyed by code: a server hovering at its descriptor limit says so once per window, not once per flap.
    const what = code === "ERR_OUT_OF_FILE_DESCRIPTORS" ? code : `accept failed: ${code ?? error.message}`;
    warnings.warn(what, code === "ERR_OUT_OF_FILE_DESCRIPTORS" ? error.message : what);
  });
  server.on("memoryFull", ({ told, dropped, heldBytes, limit }) => {
    warnings.warn(
      "client memory full",
      `client memory full: clients held ${heldBytes} bytes (--max-client-memory ${limit}); closed the ${told + dropped} holding the most`,
    );
  });
  server.on("stopping", (clients) => {
    const { shutdownTimeout, lingerTimeout } = server.options;
    log.info(
      `stopping: waiting for ${clients} client(s) to take their last replies (at most ${shutdownTimeout} s; one that takes nothing for ${lingerTimeout} s is dropped)`,
      { event: "stopping-wait", clients, shutdownTimeout, lingerTimeout },
    );
  });
  server.on("stopped", ({ clients, droppedAfterLinger, droppedAtTimeout, ms }) => {
    log.info(
      `stopping took ${(ms / 1000).toFixed(1)} s: ${clients - droppedAfterLinger - droppedAtTimeout} of ${clients} client(s) closed, ${droppedAfterLinger} dropped after the linger, ${droppedAtTimeout} at the shutdown timeout`,
      { event: "stop-clients", clients, droppedAfterLinger, droppedAtTimeout, ms },
    );
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
    limits.flush();
    connections.flush();
  };
}
