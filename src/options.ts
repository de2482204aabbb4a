/**
 * Every option in one place: for each, its default, the rule its values are
 * checked by, its `name-echo serve` flag (and so its NAME_ECHO_* variable),
 * its line in `serve --help`, and whether /status shows it. The library
 * resolves its options from these rows, the CLI builds its flags, its help
 * and its error messages from them, and /status lists the limits they mark;
 * test/docs/option-table.test.ts holds the README's flag table to them.
 *
 * Adding a limit touches: its row in SERVER_OPTION_TABLE here; server.ts
 * (the option, with its doc, in NameEchoServerOptions, which the compiler
 * holds the table to, and its enforcement, there or in connection.ts); its
 * notice in protocol/notices.ts; its test; and the README's Limits table.
 * Its flag, NAME_ECHO_* variable, --help line, library default, check and
 * /status entry follow from the row.
 *
 * The rules themselves are in option-rules.ts (re-exported here).
 */
import { invalidOption } from "./errors.js";
import {
  BOOLEAN_RULE,
  choiceRule,
  describe,
  HOST_RULE,
  integerRule,
  MAX_NAME_BYTES,
  NAME_RULE,
  PORT_RULE,
  secondsRule,
  type OptionRule,
} from "./option-rules.js";
import { defaultMaxClientMemory } from "./server/client-memory.js";
import type { NameEchoServerOptions } from "./server/server.js";
import { TRANSPORT_CHOICES } from "./server/transport/transport.js";

export * from "./option-rules.js";

export interface OptionRow<T = unknown> {
  /**
   * The flag without its dashes ("max-line-length"); its variable is
   * NAME_ECHO_ and the flag in capitals, "-" as "_" (NAME_ECHO_MAX_LINE_LENGTH).
   * None: the option is the library's only.
   */
  readonly flag?: string;
  /** What the flag's value is called in --help ("BYTES"); none: a switch, which takes no value. */
  readonly value?: string;
  readonly rule: OptionRule<T>;
  /** The value when left out: a value, one worked out for this machine, or undefined for none (off). */
  readonly default: T | (() => T) | undefined;
  /** The flag's line in --help, without its default. */
  readonly help: string;
  /** The default as --help says it, where the value alone would not say it ("off", a formula). */
  readonly shownDefault?: string;
  /** The key /status shows it under, among its `limits` (written `as const`, so the type of /status has it); none: /status does not show it. */
  readonly status?: string;
}

/** A row's default for this machine. */
export function defaultOf<T>(row: OptionRow<T>): T | undefined {
  return typeof row.default === "function" ? (row.default as () => T)() : row.default;
}

/** The options of NameEchoServer that are plain values (tls, trace and captureEndpoints are not). */
export type RuledServerOption = Exclude<keyof NameEchoServerOptions, "tls" | "trace" | "captureEndpoints">;

/** 0 (no bound), or at least 64 KiB: a budget smaller than one client's read would evict everyone. */
const CLIENT_MEMORY_RULE: OptionRule<number> = (() => {
  const whole = integerRule(0, Number.MAX_SAFE_INTEGER, "(0 = no bound)");
  const atLeast = (bytes: number, option: string): number => {
    if (bytes !== 0 && bytes < 64 * 1024) throw invalidOption(option, `must be 0 (no bound) or at least 65536 bytes, not ${bytes}`);
    return bytes;
  };
  return {
    check: (value, option) => atLeast(whole.check(value, option), option),
    fromText: (text, what) => atLeast(whole.fromText(text, what), what),
  };
})();

/**
 * NameEchoServer's options, in the order `serve --help` lists their flags.
 * Every option but tls, trace and captureEndpoints has a row: the type says
 * so, and the compiler holds it to the options' types.
 */
export const SERVER_OPTION_TABLE = {
  host: {
    flag: "host",
    value: "HOST",
    rule: HOST_RULE,
    default: "127.0.0.1",
    help: "address to listen on (0.0.0.0 or :: for the network)",
  },
  port: {
    flag: "port",
    value: "PORT",
    rule: PORT_RULE,
    default: 8888,
    help: "port to listen on, 0 for any free port",
  },
  name: {
    flag: "name",
    value: "NAME",
    rule: NAME_RULE,
    default: "Ali",
    help: `the name added to every line (printable, at most ${MAX_NAME_BYTES} bytes)`,
  },
  /** Longer lines are refused; 8 KiB is far more than anyone types and caps what one client can make the server hold. */
  maxLineLength: {
    flag: "max-line-length",
    value: "BYTES",
    rule: integerRule(1, 1 << 30),
    default: 8192,
    help: "longest accepted line",
    status: "maxLineLength" as const,
  },
  /** Each connection costs a file descriptor and a little memory; 10,000 fits the usual fd limits with room to spare. */
  maxConnections: {
    flag: "max-connections",
    value: "N",
    rule: integerRule(1, 1 << 30),
    default: 10_000,
    help: "most clients at once",
    status: "maxConnections" as const,
  },
  /**
   * Off: one address may be a whole office behind NAT, or every client at
   * once behind a load balancer without PROXY protocol; HAProxy and nginx
   * leave it to the operator too. See README "Limits".
   */
  maxConnectionsPerIp: {
    flag: "max-connections-per-ip",
    value: "N",
    rule: integerRule(0, 1 << 30, "(0 = no limit)"),
    default: 0,
    help: "most clients at once from one address, 0 = no limit",
    status: "maxConnectionsPerIp" as const,
  },
  /** Seconds without traffic before a client is told and closed: long enough for a person thinking, short enough to reclaim abandoned sessions. */
  idleTimeout: {
    flag: "idle-timeout",
    value: "SECONDS",
    rule: secondsRule(0, 2_000_000),
    default: 300,
    help: "close clients silent this long, 0 = never",
    status: "idleTimeoutSeconds" as const,
  },
  /** Unsent reply bytes per client before the server stops reading from it (backpressure). */
  maxUnsentBytes: {
    flag: "max-unsent-bytes",
    value: "BYTES",
    rule: integerRule(1024, 1 << 30),
    default: 1024 * 1024,
    help: "unsent replies held per client before reading from it pauses",
    status: "maxUnsentBytes" as const,
  },
  /** A sixteenth of the machine's memory, within [32 MiB, 1 GiB]: see defaultMaxClientMemory(). */
  maxClientMemory: {
    flag: "max-client-memory",
    value: "BYTES",
    rule: CLIENT_MEMORY_RULE,
    default: defaultMaxClientMemory,
    shownDefault: "1/16 of memory, 32 MiB to 1 GiB",
    help: "bytes held for all clients together; past it the biggest are closed, 0 = no bound",
    status: "maxClientMemory" as const,
  },
  /** Seconds a graceful stop waits for clients to go before dropping them. */
  shutdownTimeout: {
    flag: "shutdown-timeout",
    value: "SECONDS",
    rule: secondsRule(0, 2_000_000),
    default: 10,
    help: "how long a graceful stop waits for clients",
    status: "shutdownTimeoutSeconds" as const,
  },
  /**
   * Seconds a client told to go may take nothing and not close before it is
   * dropped: Apache's lingering close waits 2 s per read (nginx 5 s), enough
   * for a reader on a slow link to take its last bytes, short enough that a
   * stop with `nc`-like clients attached ends in seconds.
   */
  lingerTimeout: {
    flag: "linger-timeout",
    value: "SECONDS",
    rule: secondsRule(0, 3600),
    default: 2,
    help: "a client told to go that takes nothing this long is dropped",
    status: "lingerTimeoutSeconds" as const,
  },
  /** Kernel accept queue; a burst of connects larger than this would be dropped and retried by clients after 1 s. */
  backlog: {
    rule: integerRule(1, 1 << 20),
    default: 4096,
    help: "the kernel's queue of connections not yet accepted",
    status: "backlog" as const,
  },
  /** Set by `serve --workers` itself, never by a flag. */
  reusePort: {
    rule: BOOLEAN_RULE,
    default: false,
    help: "listen with SO_REUSEPORT, sharing the port with other servers that do",
  },
  transport: {
    flag: "transport",
    value: "auto|handle|stream",
    rule: choiceRule(TRANSPORT_CHOICES),
    default: "auto",
    shownDefault: "auto: the handle unless TLS, where this Node allows it",
    help: "libuv's TCP handle or net.Socket",
  },
  offerEcho: {
    flag: "offer-echo",
    rule: BOOLEAN_RULE,
    default: false,
    shownDefault: "off, negotiate only when asked",
    help:
      "offer every client server echo at connect (telnet WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO NAWS): " +
      "Linux telnet starts in character mode, where UTF-8 is typed intact; nc and scripts then get those bytes too",
  },
  proxyProtocol: {
    flag: "proxy-protocol",
    rule: BOOLEAN_RULE,
    default: false,
    help: "every connection starts with a PROXY v1/v2 header (HAProxy send-proxy); connections without one are closed",
  },
  /** Seconds a new connection has for its PROXY header and TLS handshake: a proxy sends its header at once, and a TLS handshake takes a few round trips. */
  handshakeTimeout: {
    flag: "handshake-timeout",
    value: "SECONDS",
    rule: secondsRule(0.001, 3600),
    default: 5,
    help: "time for the PROXY header and TLS handshake",
    status: "handshakeTimeoutSeconds" as const,
  },
} satisfies { readonly [K in RuledServerOption]-?: OptionRow<NonNullable<NameEchoServerOptions[K]>> };

/** The keys of /status's `limits`: one per row of SERVER_OPTION_TABLE that has `status`. */
export type StatusLimitKey = {
  [K in keyof typeof SERVER_OPTION_TABLE]: (typeof SERVER_OPTION_TABLE)[K] extends { status: infer S extends string } ? S : never;
}[keyof typeof SERVER_OPTION_TABLE];

/** What --balance takes: how workers share the port, auto, or kernel (the name shared had before). */
export const BALANCE_CHOICES = ["auto", "reuseport", "shared", "round-robin", "kernel"] as const;
export const LOG_LEVEL_CHOICES = ["debug", "info", "warn", "error", "silent"] as const;
export const LOG_FORMAT_CHOICES = ["auto", "pretty", "json"] as const;

/** Text taken as it is, for whoever reads it to judge (a file's name: the command says what is wrong with the file). */
export const TEXT_RULE: OptionRule<string> = {
  check(value, option) {
    if (typeof value !== "string") throw invalidOption(option, `must be a string, not ${describe(value)}`);
    return value;
  },
  fromText: (text) => text,
};

/**
 * The flags of `name-echo serve` that set no library option, in the order
 * --help lists them after the server's; keyed by flag.
 */
export const COMMAND_OPTION_TABLE = {
  workers: {
    flag: "workers",
    value: "N",
    rule: integerRule(1, 1024),
    default: 1,
    help: "run N processes sharing the port; one stop stops all",
  },
  balance: {
    flag: "balance",
    value: "auto|reuseport|shared|round-robin",
    rule: choiceRule(BALANCE_CHOICES),
    default: "auto" as const,
    shownDefault: "auto: reuseport where this Node has it, else shared",
    help: "how workers share the port (see the README's --workers)",
  },
  "tls-cert": {
    flag: "tls-cert",
    value: "FILE",
    rule: TEXT_RULE,
    default: undefined,
    help: "serve TLS with this PEM certificate (chain); needs --tls-key",
  },
  "tls-key": {
    flag: "tls-key",
    value: "FILE",
    rule: TEXT_RULE,
    default: undefined,
    help: "the certificate's PEM private key",
  },
  quiet: {
    flag: "quiet",
    rule: BOOLEAN_RULE,
    default: false,
    help: "log warnings and errors only (no line per connection)",
  },
  "log-level": {
    flag: "log-level",
    value: "LEVEL",
    rule: choiceRule(LOG_LEVEL_CHOICES),
    default: "info" as const,
    shownDefault: "info; --quiet means warn",
    help: "debug, info, warn, error or silent",
  },
  "log-format": {
    flag: "log-format",
    value: "FORMAT",
    rule: choiceRule(LOG_FORMAT_CHOICES),
    default: "auto" as const,
    shownDefault: "auto: pretty at a terminal, JSON otherwise",
    help: "auto, pretty or json",
  },
  /**
   * A hundred connections a second is already more than a person can read;
   * past it the log says how many (and a flood of them cannot bury the rest).
   */
  "log-connections-per-second": {
    flag: "log-connections-per-second",
    value: "N",
    rule: integerRule(0, 1_000_000, "(0 = log every one)"),
    default: 100,
    help: "connections a second logged one by one; past it, one summary line every 10 s (0 = log every one)",
  },
  "http-port": {
    flag: "http-port",
    value: "PORT",
    rule: PORT_RULE,
    default: undefined,
    shownDefault: "off",
    help: "serve the live status page (/), /connections, /status, Prometheus /metrics, /healthz and /readyz on this port",
  },
  /** The HTTP port answers on loopback only unless told otherwise: it is for the operator, not the clients. */
  "http-host": {
    flag: "http-host",
    value: "HOST",
    rule: HOST_RULE,
    default: "127.0.0.1",
    help: "address for the HTTP port",
  },
  // The names from when the port served metrics only; still accepted.
  "metrics-port": {
    flag: "metrics-port",
    value: "PORT",
    rule: PORT_RULE,
    default: undefined,
    shownDefault: "off",
    help: "the old name of --http-port",
  },
  "metrics-host": {
    flag: "metrics-host",
    value: "HOST",
    rule: HOST_RULE,
    default: "127.0.0.1",
    help: "the old name of --http-host",
  },
  trace: {
    flag: "trace",
    rule: BOOLEAN_RULE,
    default: false,
    help: "show every connection's bytes on stderr, telnet commands named (< from the client, > to it); lines are dropped, not waited for, when the terminal cannot keep up",
  },
} satisfies Readonly<Record<string, OptionRow & { flag: string }>>;

/** Every row with a flag, in --help's order: the server's options, then the command's own. */
export const SERVE_FLAG_ROWS: ReadonlyArray<OptionRow & { flag: string }> = [
  ...Object.values<OptionRow>(SERVER_OPTION_TABLE).filter((row): row is OptionRow & { flag: string } => row.flag !== undefined),
  ...Object.values(COMMAND_OPTION_TABLE),
];

/** Server option → its flag, for naming the flag where the library names the option. */
export const FLAG_OF_SERVER_OPTION: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries<OptionRow>(SERVER_OPTION_TABLE).flatMap(([option, row]) => (row.flag === undefined ? [] : [[option, row.flag]])),
);

/** NameEchoClient.connect()'s options: the same rules, no flags (`name-echo connect` has its own few). */
export const CLIENT_OPTION_TABLE = {
  connectTimeout: { rule: secondsRule(0.001, 2_000_000), default: 10, help: "seconds a connect may take" },
  /** Long enough for any healthy server under load; short enough that a wedged one is noticed. */
  replyTimeout: { rule: secondsRule(0, 2_000_000), default: 30, help: "seconds of silence with replies owed before failing, 0 = never" },
  /** Replies are a line plus a name; the server's own limit is 8 KiB by default, so 1 MiB leaves room for any setting. */
  maxLineLength: { rule: integerRule(1, 1 << 30), default: 1024 * 1024, help: "longest line accepted from the server" },
} satisfies Readonly<Record<string, OptionRow<number>>>;

const server = SERVER_OPTION_TABLE;

/**
 * The defaults as values, for programs that show or compare them. The
 * `…Seconds` names and `metricsHost` are the names these had before the
 * options took them; kept for programs that read them.
 */
export const DEFAULTS = Object.freeze({
  host: server.host.default,
  port: server.port.default,
  name: server.name.default,
  maxLineLength: server.maxLineLength.default,
  maxConnections: server.maxConnections.default,
  idleTimeout: server.idleTimeout.default,
  shutdownTimeout: server.shutdownTimeout.default,
  maxUnsentBytes: server.maxUnsentBytes.default,
  maxConnectionsPerIp: server.maxConnectionsPerIp.default,
  lingerTimeout: server.lingerTimeout.default,
  backlog: server.backlog.default,
  handshakeTimeout: server.handshakeTimeout.default,
  /** The HTTP port's address (`--http-host`). */
  httpHost: COMMAND_OPTION_TABLE["http-host"].default,
  /** @deprecated the same as idleTimeout */
  idleTimeoutSeconds: server.idleTimeout.default,
  /** @deprecated the same as shutdownTimeout */
  shutdownTimeoutSeconds: server.shutdownTimeout.default,
  /** @deprecated the same as lingerTimeout */
  lingerTimeoutSeconds: server.lingerTimeout.default,
  /** @deprecated the same as handshakeTimeout */
  handshakeTimeoutSeconds: server.handshakeTimeout.default,
  /** @deprecated the same as httpHost: the flag is --http-host now */
  metricsHost: COMMAND_OPTION_TABLE["http-host"].default,
});
