/**
 * The operations flags of `name-echo serve` (logging, metrics, PROXY
 * protocol, TLS), kept out of serve.ts so that file stays about running and
 * stopping the server.
 */
import { DEFAULTS, HOST_RULE, PORT_RULE } from "../options.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import { SERVER_OPTION_RULES } from "../server/server-options.js";
import type { OptionSpec, ParsedArgs } from "./args.js";
import { oneOf, usageError } from "./args.js";
import { flagSpeller } from "./config.js";
import { readRegularFile } from "./read-file.js";
import { createLogger, LOG_FORMATS, LOG_LEVELS, type Logger } from "./log.js";

export const OPS_OPTIONS: OptionSpec = {
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "metrics-port": { type: "string" },
  "metrics-host": { type: "string" },
  "proxy-protocol": { type: "boolean" },
  "handshake-timeout": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
};

export const OPS_HELP = `  --log-level LEVEL         debug, info, warn, error or silent (default info; --quiet means warn)
  --log-format FORMAT       auto, pretty or json (default auto: pretty at a terminal, JSON otherwise)
  --metrics-port PORT       serve Prometheus /metrics, /healthz and /readyz on this port (default: off)
  --metrics-host HOST       address for the metrics port (default ${DEFAULTS.metricsHost})
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

/** The server options of the ops flags: PROXY protocol, handshake timeout, TLS files read now. */
export function opsServerOptions(values: Values, spell: Spell = dashed): NameEchoServerOptions {
  const options: NameEchoServerOptions = {};
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

export interface RunningOps {
  /** e.g. "metrics on http://127.0.0.1:9100/metrics", or null when off. */
  metricsUrl: string | null;
  close(): Promise<void>;
}

/** Starts the metrics endpoint if --metrics-port was given. */
export async function startOps(server: NameEchoServer, values: Values, spell: Spell = dashed): Promise<RunningOps> {
  const metricsPort = text(values, "metrics-port");
  if (metricsPort === undefined) return { metricsUrl: null, close: async () => {} };
  const port = PORT_RULE.fromText(metricsPort, spell("metrics-port"));
  const host = HOST_RULE.fromText(text(values, "metrics-host") ?? DEFAULTS.metricsHost, spell("metrics-host"));
  // Loaded only when asked for: prom-client adds ~90 ms to start-up.
  const { instrumentServer, MetricsServer } = await import("../ops/metrics.js");
  const metrics = new MetricsServer(server, instrumentServer(server), { host, port });
  const bound = await metrics.listen();
  const where = bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return { metricsUrl: `http://${where}/metrics`, close: () => metrics.close() };
}
