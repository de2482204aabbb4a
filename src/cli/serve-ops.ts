/**
 * The operations flags of `name-echo serve` (logging, the HTTP port, the
 * trace, TLS's files), kept out of serve.ts so that file stays about running
 * and stopping the server. Their rows (default, rule, help) are in options.ts.
 */
import { isIP } from "node:net";
import { Endpoint } from "../endpoint.js";
import { NameEchoError } from "../errors.js";
import { COMMAND_OPTION_TABLE, SERVER_OPTION_TABLE } from "../options.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import type { ParsedArgs } from "./args.js";
import { flagValue, usageError } from "./args.js";
import { flagSpeller, inCommandLineTerms } from "./config.js";
import { readRegularFile } from "./read-file.js";
import { TerminalTrace } from "../ops/terminal-trace.js";
import { createLogger, type Logger } from "./log.js";

type Values = ParsedArgs["values"];
/** A flag as the user gave it, for messages: "--log-level", or NAME_ECHO_LOG_LEVEL when it came from there. */
type Spell = (flag: string) => string;
const dashed: Spell = flagSpeller();
const rows = COMMAND_OPTION_TABLE;

/** --log-connections-per-second: 0 (every connection logged) to a million. */
export function connectionLogsPerSecondFromArgs(values: Values, spell: Spell = dashed): number {
  return flagValue(values, rows["log-connections-per-second"], spell)!;
}

/** A string flag's text, if given. */
function text(values: Values, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === "string" ? value : undefined;
}

export function loggerFromArgs(values: Values, spell: Spell = dashed): Logger {
  // --quiet is --log-level warn, unless a level is given.
  const level = values["log-level"] === undefined && values.quiet === true ? "warn" : flagValue(values, rows["log-level"], spell)!;
  const format = flagValue(values, rows["log-format"], spell)!;
  return createLogger({ level, format });
}

/** The server options of the flags that are no single option: the trace, and TLS's two files, read now. */
export function opsServerOptions(values: Values, spell: Spell = dashed): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
  if (values.trace === true) options.trace = new TerminalTrace();
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
  const { port: portFlag, host: hostFlag } = httpFlags(values);
  const address = {
    port: rows[portFlag].rule.fromText(port, spell(portFlag)),
    host: host === undefined ? rows[hostFlag].default : rows[hostFlag].rule.fromText(host, spell(hostFlag)),
  };
  // Said as what it is, before anything listens: otherwise the second listen() reports the port "in use" by ourselves.
  const serverPort = flagValue(values, SERVER_OPTION_TABLE.port, spell)!;
  const serverHost = text(values, "host") ?? SERVER_OPTION_TABLE.host.default;
  if (address.port !== 0 && address.port === serverPort && hostsMayOverlap(address.host, serverHost)) {
    throw usageError(
      `${spell(portFlag)} ${address.port} is the same port as ${spell("port")} ${serverPort}, where the server listens; give the HTTP port another one (0 picks a free one)`,
    );
  }
  return address;
}

/** The flags the HTTP port's address was given by: the new names, or the old ones if those were used. */
function httpFlags(values: Values): { port: "http-port" | "metrics-port"; host: "http-host" | "metrics-host" } {
  return {
    port: values["http-port"] === undefined && values["metrics-port"] !== undefined ? "metrics-port" : "http-port",
    host: values["http-host"] === undefined && values["metrics-host"] !== undefined ? "metrics-host" : "http-host",
  };
}

/**
 * The HTTP server's listen errors name its options, port and host; said as
 * the flags the user gave them by. The result names no option any more, so
 * that serve's retelling of the server's errors leaves it as it is (its
 * "port" is --port).
 */
function inHttpFlagTerms(values: Values, spell: Spell): (error: unknown) => never {
  const flags = httpFlags(values);
  return (error) => {
    const told = inCommandLineTerms(error, flags, spell);
    throw told instanceof NameEchoError && told !== error ? new NameEchoError(told.code, told.message, { cause: error }) : told;
  };
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
  const bound = await http.listen().catch(inHttpFlagTerms(values, spell));
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
  const bound = await http.listen().catch(inHttpFlagTerms(values, spell));
  const where = new Endpoint(bound.address, bound.port, bound.family);
  return { pageUrl: `http://${where}/`, metricsUrl: `http://${where}/metrics`, close: () => http.close() };
}

/** `--workers N` with --http-port, in a worker: answer the primary's questions about this worker's server. */
export async function startWorkerOps(server: NameEchoServer, values: Values): Promise<void> {
  if (httpAddressFromArgs(values) === null) return;
  const { answerPrimary } = await import("../ops/cluster-http.js");
  answerPrimary(server);
}
