/** `name-echo serve`: run the server in the foreground until Esc, Ctrl-C or SIGTERM. */
import { COMMAND_OPTION_TABLE, DEFAULTS, FLAG_OF_SERVER_OPTION, SERVE_FLAG_ROWS, SERVER_OPTION_TABLE, type OptionRow } from "../options.js";
import { defaultMaxClientMemory } from "../server/client-memory.js";
import { NameEchoServer, type ListeningAddress, type NameEchoServerOptions } from "../server/server.js";
import { resolveServerOptions } from "../server/server-options.js";
import { flagsHelp, flagValue, optionSpec, parseCommandLine, type FlagRow, type OptionSpec, type ParsedArgs } from "./args.js";
import { applyEnvironment, environmentHelp, flagSpeller, inCommandLineTerms } from "./config.js";
import type { Logger } from "./log.js";
import { ConnectionLogThrottle, WarningThrottle } from "./warning-throttle.js";
import {
  connectionLogsPerSecondFromArgs,
  httpAddressFromArgs,
  loggerFromArgs,
  opsServerOptions,
  startOps,
  startPrimaryOps,
  startWorkerOps,
  watchTrace,
  type RunningOps,
} from "./serve-ops.js";
import { onStopSignals, twoStageStop, watchStopKeys, type TwoStageStop } from "./stop.js";
import {
  decideBalance,
  isWorker,
  leaveCluster,
  prepareWorkerListening,
  runPrimary,
  runWorker,
  workerListenOptions,
  type BalanceChoice,
} from "./workers.js";

export const SERVE_HELP = `Usage: name-echo serve [options]

Runs the server: every line a client sends comes back with the name added
("Hello" -> "Hello ${DEFAULTS.name}"). Stop it with Esc, Ctrl-C or SIGTERM; a second
Ctrl-C or SIGTERM drops the remaining clients at once.

Options:
${flagsHelp(SERVE_FLAG_ROWS)}  -h, --help                show this help
`;

const SERVE_OPTIONS: OptionSpec = {
  ...optionSpec(SERVE_FLAG_ROWS),
  help: { type: "boolean", short: "h" },
};

/**
 * Server option → flag(s), to name in an error what the user typed: each
 * row's flag, and tls, which two flags set.
 */
const OPTION_FLAGS: Readonly<Record<string, string | readonly string[]>> = {
  ...FLAG_OF_SERVER_OPTION,
  tls: ["tls-cert", "tls-key"],
};

/** The server options given on the command line (or the environment), parsed from text by their rows' rules. */
function serverOptionsFromArgs(
  values: Record<string, string | boolean | undefined>,
  spell: (flag: string) => string = flagSpeller(),
): NameEchoServerOptions {
  const options: Record<string, unknown> = {};
  for (const [option, row] of Object.entries<OptionRow>(SERVER_OPTION_TABLE)) {
    if (row.flag !== undefined && values[row.flag] !== undefined) options[option] = flagValue(values, row as FlagRow, spell);
  }
  return options as NameEchoServerOptions;
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

/** What every way of serving takes from the flags, read and checked before anything starts. */
interface ServeSettings {
  values: ParsedArgs["values"];
  spell: (flag: string) => string;
  log: Logger;
  workers: number;
  balance: BalanceChoice;
  serverOptions: NameEchoServerOptions;
  /** Whether this process watches the terminal's keys for a stop. */
  keyboard: boolean;
  /** How to stop it, as the "listening" line says. */
  stopHint: string;
}

/** One process, the primary of --workers, or one of its workers. */
function serveConfigured(values: ParsedArgs["values"], spell: (flag: string) => string): Promise<number> {
  const settings = readSettings(values, spell);
  if (isWorker()) return serveAsWorker(settings);
  if (settings.workers > 1) return serveAsPrimary(settings);
  return serveHere(settings);
}

function readSettings(values: ParsedArgs["values"], spell: (flag: string) => string): ServeSettings {
  const log = loggerFromArgs(values, spell);
  const workers = flagValue(values, COMMAND_OPTION_TABLE.workers, spell)!;
  const balance = flagValue(values, COMMAND_OPTION_TABLE.balance, spell)!;
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
  return { values, spell, log, workers, balance, serverOptions, keyboard, stopHint };
}

/** `--workers N` in the primary: supervise N workers, one HTTP port for all of them. */
async function serveAsPrimary({ values, spell, log, workers, balance, serverOptions, keyboard, stopHint }: ServeSettings): Promise<number> {
  // Validate here, so a bad option is one line from the primary, not one per worker.
  const { shutdownTimeout, host, port } = resolveServerOptions(serverOptions);
  const { mode, why } = decideBalance(balance, spell("balance"));
  // The HTTP port (if asked for) first: a port in use stops us before any worker starts.
  const ops = await startPrimaryOps(values, spell);
  const workerEnvironment = await prepareWorkerListening(mode, host, port).catch(async (error: unknown) => {
    await ops.close();
    throw error;
  });
  if (ops.pageUrl)
    log.info(`status page on ${ops.pageUrl}, metrics on ${ops.metricsUrl} (all workers)`, {
      event: "http",
      page: ops.pageUrl,
      metrics: ops.metricsUrl,
    });
  const primary = runPrimary({
    workers,
    balance: mode,
    workerEnvironment,
    log,
    shutdownTimeout,
    announce: (where, name, transport) =>
      process.stdout.write(
        `listening on ${where} (replies add "${name}", ${workers} workers, balance ${mode} (${why}), ${transport} transport) — ${stopHint}\n`,
      ),
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

/** One of the primary's workers: serve until the primary says stop. */
async function serveAsWorker({ values, spell, log, serverOptions }: ServeSettings): Promise<number> {
  const server = new NameEchoServer({ ...serverOptions, ...workerListenOptions() });
  const flushLog = watchServer(server, log, connectionLogsPerSecondFromArgs(values, spell));
  watchTrace(server);
  await startWorkerOps(server, values);
  const address = await server.listen().catch((error: unknown) => leaveCluster(inCommandLineTerms(error, OPTION_FLAGS, spell)));
  logTransportFallback(server, log);
  return runWorker(server, address.toString(), log).finally(async () => {
    flushLog();
    await log.close();
  });
}

/** One process: listen, serve until stopped, and undo everything on the way out. */
async function serveHere({ values, spell, log, serverOptions, keyboard, stopHint }: ServeSettings): Promise<number> {
  const server = new NameEchoServer(serverOptions);
  const flushLog = watchServer(server, log, connectionLogsPerSecondFromArgs(values, spell));
  watchTrace(server);
  let ops: RunningOps | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stopper = twoStageStop(
    (why) => {
      log.info(`${why}: stopping; ${server.connections.size} client(s) connected`, {
        event: "stopping",
        signal: why,
        clients: server.connections.size,
      });
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
    },
    (why) => {
      log.warn(`${why} again: dropping ${server.connections.size} client(s) now`, { event: "stop-now", clients: server.connections.size });
      void server.destroy();
    },
  );
  // Undone in reverse order on every way out: stopped, or an exception.
  // Signals are taken before listening, so a SIGTERM at any moment is a
  // graceful stop rather than the default instant death.
  const cleanups: Array<() => void> = [onStopSignals(stopper.stop)];
  try {
    const address = await listenUnlessStopped(server, stopper);
    if (address === null) return 0;
    ops = await startOps(server, values, spell).catch(async (error: unknown) => {
      await server.destroy();
      throw error;
    });
    announceStart(server, address, ops, log, stopHint);
    // Gives the terminal back its mode (echo, line editing, Ctrl-C as SIGINT) on the way out.
    if (keyboard && !stopper.stopping) cleanups.push(watchStopKeys(stopper.stop));
    await done;
    return 0;
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
    // Last: the buffered log lines ("stopped" among them) reach the reader, if it reads.
    await log.close();
  }
}

/** The bound address, or null when a stop came while the port was being bound: that is a clean stop. */
async function listenUnlessStopped(server: NameEchoServer, stopper: TwoStageStop): Promise<ListeningAddress | null> {
  try {
    return await server.listen();
  } catch (error) {
    if (stopper.stopping && (error as { code?: string }).code === "ERR_SERVER_NOT_RUNNING") return null;
    throw error;
  }
}

/** The "listening" line on stdout, and the start in the log. */
function announceStart(server: NameEchoServer, address: ListeningAddress, ops: RunningOps, log: Logger, stopHint: string): void {
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
}

/** The one line that says why "auto" serves with the stream transport, when it does. */
function logTransportFallback(server: NameEchoServer, log: Logger): void {
  const reason = server.transportFallback;
  if (reason !== null) log.warn(`serving with the stream transport: ${reason}`, { event: "transport-fallback", reason });
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
    if (code === "ERR_OUT_OF_FILE_DESCRIPTORS") {
      // The library says "the connection limit"; here it has a flag.
      warnings.warn(code, `${error.message} (--max-connections ${server.options.maxConnections})`);
      return;
    }
    const what = `accept failed: ${code ?? error.message}`;
    warnings.warn(what, what);
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
