/**
 * The operations flags of `name-echo serve` (logging, metrics, PROXY
 * protocol, TLS), kept out of serve.ts so that file stays about running and
 * stopping the server.
 */
import { readFileSync } from "node:fs";
import { DEFAULTS, validateHost, validateInteger, validatePort } from "../options.js";
import { invalidOption } from "../errors.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { usageError } from "./args.js";
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat, type Logger, type LogLevel } from "./log.js";

/**
 * A hundred connections a second is already more than a person can read;
 * past it the log says how many (and a flood of them cannot bury the rest).
 */
export const DEFAULT_CONNECTION_LOGS_PER_SECOND = 100;

export const OPS_OPTIONS: OptionSpec = {
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "log-connections-per-second": { type: "string" },
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" },
  "proxy-protocol": { type: "boolean" },
  "handshake-timeout": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
};

export const OPS_HELP = `  --log-level LEVEL         debug, info, warn, error or silent (default info; --quiet means warn)
  --log-format FORMAT       auto, pretty or json (default auto: pretty at a terminal, JSON otherwise)
  --log-connections-per-second N  connections a second logged one by one; past it, one summary line
                            every 10 s (default ${DEFAULT_CONNECTION_LOGS_PER_SECOND}; 0 = log every one)
  --metrics-port PORT       serve Prometheus /metrics, /healthz and /readyz on this port (default: off)
  --metrics-host HOST       address for the metrics port (default ${DEFAULTS.metricsHost})
  --proxy-protocol          every connection starts with a PROXY v1/v2 header (HAProxy send-proxy);
                            connections without one are closed
  --handshake-timeout SECONDS  time for the PROXY header and TLS handshake (default ${DEFAULTS.handshakeTimeoutSeconds})
  --tls-cert FILE           serve TLS with this PEM certificate (chain); needs --tls-key
  --tls-key FILE            the certificate's PEM private key
`;

type Values = ParsedArgs["values"];

/** --log-connections-per-second: 0 (every connection logged) to a million. */
export function connectionLogsPerSecondFromArgs(values: Values): number {
  const value = values["log-connections-per-second"] ?? DEFAULT_CONNECTION_LOGS_PER_SECOND;
  return validateInteger(value, "--log-connections-per-second", 0, 1_000_000);
}

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

/** The server options of the ops flags: PROXY protocol, handshake timeout, TLS files read now. */
export function opsServerOptions(values: Values): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
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

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw invalidOption(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export interface RunningOps {
  /** e.g. "metrics on http://127.0.0.1:9100/metrics", or null when off. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** Starts the metrics endpoint if --metrics-port was given. */
export async function startOps(server: NameEchoServer, values: Values): Promise<RunningOps> {
  if (values["metrics-port"] === undefined) return { metricsUrl: null, close: async () => {} };
  const port = validatePort(values["metrics-port"], "--metrics-port");
  const host = validateHost(values["metrics-host"] ?? DEFAULTS.metricsHost, "--metrics-host");
  // Loaded only when asked for: prom-client adds ~90 ms to start-up.
  const { instrumentServer, MetricsServer } = await import("../ops/metrics.js");
  const metrics = new MetricsServer(server, instrumentServer(server), { host, port });
  const bound = await metrics.listen();
  const where = bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { metricsUrl: `http://${where}/metrics`, close: () => metrics.close() };
}
