/**
 * The operations flags of `name-echo serve` (logging, the HTTP port, PROXY
 * protocol, TLS), kept out of serve.ts so that file stays about running and
 * stopping the server.
 */
import { isIP } from "node:net";
import { Endpoint } from "../endpoint.js";
import { DEFAULTS, HOST_RULE, integerRule, PORT_RULE } from "../options.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import { SERVER_OPTION_RULES } from "../server/server-options.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { oneOf, usageError } from "./args.js";
import { flagSpeller } from "./config.js";
import { readRegularFile } from "./read-file.js";
import { TerminalTrace } from "../ops/terminal-trace.js";
import { createLogger, LOG_FORMATS, LOG_LEVELS, type Logger } from "./log.js";

/**
 * A hundred connections a second is already more than a person can read;
 * past it the log says how many (and a flood of them cannot bury the rest).
 */
export const DEFAULT_CONNECTION_LOGS_PER_SECOND = 100;

export const OPS_OPTIONS: OptionSpec = {
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "log-connections-per-second": { type: "string" },
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
  --log-connections-per-second N  connections a second logged one by one; past it, one summary line
                            every 10 s (default ${DEFAULT_CONNECTION_LOGS_PER_SECOND}; 0 = log every one)
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
/** A flag as the user gave it, for messages: "--log-level", or NAME_ECHO_LOG_LEVEL when it came from there. */
type Spell = (flag: string) => string;
const dashed: Spell = flagSpeller();

/** --log-connections-per-second: 0 (every connection logged) to a million. */
export function connectionLogsPerSecondFromArgs(values: Values, spell: Spell = dashed): number {
  const given = text(values, "log-connections-per-second");
  return given === undefined ? DEFAULT_CONNECTION_LOGS_PER_SECOND : CONNECTION_LOGS_RULE.fromText(given, spell("log-connections-per-second"));
}

const CONNECTION_LOGS_RULE = integerRule(0, 1_000_000, "(0 = log every one)");

/** A string flag's text, if given. */
function text(values: Values, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === "string" ? value : undefined;
}

export function loggerFromArgs(values: Values, spell: Spell = dashed): Logger {
  const level = oneOf(text(values, "log-level") ?? (values.quiet ? "warn" : "info"), LOG_LEVELS, spell("log-level"));
  const format = oneOf(text(values, "log-format") ?? "auto", LOG_FORMATS, spell("log-format"));
  return createLogger({ level, format });
}

/** The server options of the ops flags: the trace, PROXY protocol, handshake timeout, TLS files read now. */
export function opsServerOptions(values: Values, spell: Spell = dashed): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
  if (values.trace === true) options.trace = new TerminalTrace();
  if (values["proxy-protocol"] === true) options.proxyProtocol = true;
  const handshakeTimeout = text(values, "handshake-timeout");
  if (handshakeTimeout !== undefined) {
    options.handshakeTimeout = SERVER_OPTION_RULES.handshakeTimeout.fromText(handshakeTimeout, spell("handshake-timeout"));
  }
  const cert = text(values, "tls-cert");
  const key = text(values, "tls-key");
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(
      cert !== undefined
        ? `${spell("tls-cert")} needs ${spell("tls-key")} (the certificate's private key)`
        : `${spell("tls-key")} needs ${spell("tls-cert")} (the certificate)`,
    );
  }
  if (cert !== undefined && key !== undefined) {
    options.tls = { cert: readRegularFile(cert, spell("tls-cert")), key: readRegularFile(key, spell("tls-key")) };
  }
  return options;
}

/** With --trace: a line when each client connects and goes, around its traffic. */
export function watchTrace(server: NameEchoServer): void {
  if (server.options.trace instanceof TerminalTrace) server.options.trace.watch(server);
}

export interface RunningOps {
  /** The status page, e.g. "http://127.0.0.1:9100/", or null when the HTTP port is off. */
  pageUrl: string | null;
  /** e.g. "http://127.0.0.1:9100/metrics", or null when off. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** The HTTP port's address from --http-port/--http-host (or their old names), or null when it is off. */
export function httpAddressFromArgs(values: Values, spell: Spell = dashed): { host: string; port: number } | null {
  const port = aliased(values, "http-port", "metrics-port", spell);
  const host = aliased(values, "http-host", "metrics-host", spell);
  if (port === undefined) {
    if (host !== undefined) throw usageError(`${spell("http-host")} needs ${spell("http-port")} (the HTTP port is off without it)`);
    return null;
  }
  const portFlag = spell(values["http-port"] !== undefined ? "http-port" : "metrics-port");
  const address = {
    port: PORT_RULE.fromText(port, portFlag),
    host: HOST_RULE.fromText(host ?? DEFAULTS.metricsHost, spell(values["http-host"] !== undefined ? "http-host" : "metrics-host")),
  };
  // Said as what it is, before anything listens: otherwise the second listen() reports the port "in use" by ourselves.
  const serverPortText = text(values, "port");
  const serverPort = serverPortText === undefined ? DEFAULTS.port : PORT_RULE.fromText(serverPortText, spell("port"));
  const serverHost = text(values, "host") ?? DEFAULTS.host;
  if (address.port !== 0 && address.port === serverPort && hostsMayOverlap(address.host, serverHost)) {
    throw usageError(
      `${portFlag} ${address.port} is the same port as ${spell("port")} ${serverPort}, where the server listens; give the HTTP port another one (0 picks a free one)`,
    );
  }
  return address;
}

/** Whether two listen addresses can clash on one port: the same, a wildcard, or a name that may resolve to either. */
function hostsMayOverlap(a: string, b: string): boolean {
  const wildcard = (host: string): boolean => host === "0.0.0.0" || host === "::";
  return a === b || wildcard(a) || wildcard(b) || isIP(a) === 0 || isIP(b) === 0;
}

/** A flag and its old name: either may be given, both only if they agree. */
function aliased(values: Values, flag: string, oldName: string, spell: Spell): string | undefined {
  const value = text(values, flag);
  const old = text(values, oldName);
  if (value !== undefined && old !== undefined && value !== old) {
    throw usageError(`${spell(flag)} ${value} and ${spell(oldName)} ${old} name the same thing; give one of them`);
  }
  return value ?? old;
}

/** Starts the HTTP port if --http-port (or --metrics-port) was given. */
export async function startOps(server: NameEchoServer, values: Values, spell: Spell = dashed): Promise<RunningOps> {
  const address = httpAddressFromArgs(values, spell);
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
  const where = new Endpoint(bound.address, bound.port, bound.family);
  return { pageUrl: `http://${where}/`, metricsUrl: `http://${where}/metrics`, close: () => http.close() };
}

/**
 * `--workers N` with --http-port, in the primary: one HTTP port for all the
 * workers (their metrics aggregated, their connections joined).
 */
export async function startPrimaryOps(values: Values, spell: Spell = dashed): Promise<RunningOps> {
  const address = httpAddressFromArgs(values, spell);
  if (address === null) return { pageUrl: null, metricsUrl: null, close: async () => {} };
  const { ClusterHttpServer } = await import("../ops/cluster-http.js");
  const http = new ClusterHttpServer(address);
  const bound = await http.listen();
  const where = new Endpoint(bound.address, bound.port, bound.family);
  return { pageUrl: `http://${where}/`, metricsUrl: `http://${where}/metrics`, close: () => http.close() };
}

/** `--workers N` with --http-port, in a worker: answer the primary's questions about this worker's server. */
export async function startWorkerOps(server: NameEchoServer, values: Values): Promise<void> {
  if (httpAddressFromArgs(values) === null) return;
  const { answerPrimary } = await import("../ops/cluster-http.js");
  answerPrimary(server);
}
