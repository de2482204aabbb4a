/**
 * The operations flags of `name-echo serve` (logging, the HTTP port, PROXY
 * protocol, TLS), kept out of serve.ts so that file stays about running and
 * stopping the server.
 */
import { readFileSync } from "node:fs";
import { DEFAULTS, validateHost, validatePort } from "../options.js";
import { invalidOption } from "../errors.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { usageError } from "./args.js";
import { TerminalTrace } from "../ops/terminal-trace.js";
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from "./log.js";

export const OPS_OPTIONS: OptionSpec = {
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "http-port": { type: "string" },
  "http-host": { type: "string" },
  // The names from when the port served metrics only; still accepted.
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" },
  trace: { type: "boolean" },
  "proxy-protocol": { type: "boolean" },
  "handshake-timeout": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
};

export const OPS_HELP = `  --log-level LEVEL         debug, info, warn, error or silent (default info; --quiet means warn)
  --log-format FORMAT       auto, pretty or json (default auto: pretty at a terminal, JSON otherwise)
  --http-port PORT          serve the live status page (/), /connections, /status, Prometheus
                            /metrics, /healthz and /readyz on this port (default: off)
  --http-host HOST          address for the HTTP port (default ${DEFAULTS.metricsHost})
  --metrics-port, --metrics-host  the same as --http-port, --http-host
  --trace                   show every connection's bytes on stderr, telnet commands named
                            (< from the client, > to it); lines are dropped, not waited for,
                            when the terminal cannot keep up
  --proxy-protocol          every connection starts with a PROXY v1/v2 header (HAProxy send-proxy);
                            connections without one are closed
  --handshake-timeout SECONDS  time for the PROXY header and TLS handshake (default ${DEFAULTS.handshakeTimeoutSeconds})
  --tls-cert FILE           serve TLS with this PEM certificate (chain); needs --tls-key
  --tls-key FILE            the certificate's PEM private key
`;

type Values = ParsedArgs["values"];

export function loggerFromArgs(values: Values): Logger {
  const level = (values["log-level"] ?? (values.quiet ? "warn" : "info")) as string;
  if (!LOG_LEVELS.includes(level as LogLevel)) {
    throw usageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}, not ${JSON.stringify(level)}`);
  }
  const format = (values["log-format"] ?? "auto") as string;
  if (!LOG_FORMATS.includes(format as LogFormat)) {
    throw usageError(`--log-format must be one of ${LOG_FORMATS.join(", ")}, not ${JSON.stringify(format)}`);
  }
  return createLogger({ level: level as LogLevel, format: format as LogFormat });
}

/** The server options of the ops flags: the trace, PROXY protocol, handshake timeout, TLS files read now. */
export function opsServerOptions(values: Values): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
  if (values.trace) options.trace = new TerminalTrace();
  if (values["proxy-protocol"]) options.proxyProtocol = true;
  if (values["handshake-timeout"] !== undefined) options.handshakeTimeout = values["handshake-timeout"] as unknown as number;
  const cert = values["tls-cert"] as string | undefined;
  const key = values["tls-key"] as string | undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(cert ? "--tls-cert needs --tls-key (the certificate's private key)" : "--tls-key needs --tls-cert (the certificate)");
  }
  if (cert !== undefined && key !== undefined) options.tls = { cert: readPem(cert, "--tls-cert"), key: readPem(key, "--tls-key") };
  return options;
}

/** With --trace: a line when each client connects and goes, around its traffic. */
export function watchTrace(server: NameEchoServer): void {
  if (server.options.trace instanceof TerminalTrace) server.options.trace.watch(server);
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw invalidOption(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export interface RunningOps {
  /** The status page, e.g. "http://127.0.0.1:9100/", or null when the HTTP port is off. */
  pageUrl: string | null;
  /** e.g. "http://127.0.0.1:9100/metrics", or null when off. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** The HTTP port's address from --http-port/--http-host (or their old names), or null when it is off. */
export function httpAddressFromArgs(values: Values): { host: string; port: number } | null {
  const port = aliased(values, "http-port", "metrics-port");
  const host = aliased(values, "http-host", "metrics-host");
  if (port === undefined) {
    if (host !== undefined) throw usageError("--http-host needs --http-port (the HTTP port is off without it)");
    return null;
  }
  return {
    port: validatePort(port, values["http-port"] !== undefined ? "--http-port" : "--metrics-port"),
    host: validateHost(host ?? DEFAULTS.metricsHost, values["http-host"] !== undefined ? "--http-host" : "--metrics-host"),
  };
}

/** A flag and its old name: either may be given, both only if they agree. */
function aliased(values: Values, flag: string, oldName: string): string | undefined {
  const value = values[flag] as string | undefined;
  const old = values[oldName] as string | undefined;
  if (value !== undefined && old !== undefined && value !== old) {
    throw usageError(`--${flag} ${value} and --${oldName} ${old} name the same thing; give one of them`);
  }
  return value ?? old;
}

/** Starts the HTTP port if --http-port (or --metrics-port) was given. */
export async function startOps(server: NameEchoServer, values: Values): Promise<RunningOps> {
  const address = httpAddressFromArgs(values);
  if (address === null) return { pageUrl: null, metricsUrl: null, close: async () => {} };
  // Loaded only when asked for: prom-client adds ~90 ms to start-up.
  const [{ instrumentServer }, { OpsHttpServer }, { LocalView }, { ServerCounters }] = await Promise.all([
    import("../ops/metrics.js"),
    import("../ops/http-server.js"),
    import("../ops/view.js"),
    import("../ops/status.js"),
  ]);
  const counters = new ServerCounters(server);
  const http = new OpsHttpServer(new LocalView(server, instrumentServer(server, { counters }), counters), address);
  const bound = await http.listen();
  const where = bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { pageUrl: `http://${where}/`, metricsUrl: `http://${where}/metrics`, close: () => http.close() };
}

/**
 * `--workers N` with --http-port, in the primary: one HTTP port for all the
 * workers (their metrics aggregated, their connections joined).
 */
export async function startPrimaryOps(values: Values): Promise<RunningOps> {
  const address = httpAddressFromArgs(values);
  if (address === null) return { pageUrl: null, metricsUrl: null, close: async () => {} };
  const { ClusterHttpServer } = await import("../ops/cluster-http.js");
  const http = new ClusterHttpServer(address);
  const bound = await http.listen();
  const where = bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { pageUrl: `http://${where}/`, metricsUrl: `http://${where}/metrics`, close: () => http.close() };
}

/** `--workers N` with --http-port, in a worker: answer the primary's questions about this worker's server. */
export async function startWorkerOps(server: NameEchoServer, values: Values): Promise<void> {
  if (httpAddressFromArgs(values) === null) return;
  const { answerPrimary } = await import("../ops/cluster-http.js");
  answerPrimary(server);
}
