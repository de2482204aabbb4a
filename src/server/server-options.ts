/**
 * NameEchoServer's options: the rule each is checked by, and resolving what a
 * caller passed into a complete, checked set. The CLI parses its flags with
 * the same rules, so a flag and an option are refused in the same words.
 */
import type * as tls from "node:tls";
import { invalidOption } from "../errors.js";
import {
  BOOLEAN_RULE,
  checkOptionKeys,
  DEFAULTS,
  HOST_RULE,
  choiceRule,
  integerRule,
  NAME_RULE,
  optionValue,
  PORT_RULE,
  secondsRule,
  type OptionRule,
} from "../options.js";
import { defaultMaxClientMemory } from "./client-memory.js";
import { reusePortUnavailable } from "./reuse-port.js";
import type { WireTraceSink } from "./connection.js";
import { TRANSPORT_CHOICES } from "./transport/transport.js";
import type { NameEchoServerOptions, ResolvedServerOptions } from "./server.js";

type RuledOption = Exclude<keyof NameEchoServerOptions, "tls" | "trace" | "captureEndpoints">;

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

/** Each option but tls (an object for tls.createSecureContext()) and trace (an object with two methods), and its rule. */
export const SERVER_OPTION_RULES: { readonly [K in RuledOption]-?: OptionRule<NonNullable<NameEchoServerOptions[K]>> } = {
  host: HOST_RULE,
  port: PORT_RULE,
  name: NAME_RULE,
  maxLineLength: integerRule(1, 1 << 30),
  maxConnections: integerRule(1, 1 << 30),
  idleTimeout: secondsRule(0, 2_000_000),
  shutdownTimeout: secondsRule(0, 2_000_000),
  maxUnsentBytes: integerRule(1024, 1 << 30),
  maxClientMemory: CLIENT_MEMORY_RULE,
  maxConnectionsPerIp: integerRule(0, 1 << 30, "(0 = no limit)"),
  lingerTimeout: secondsRule(0, 3600),
  backlog: integerRule(1, 1 << 20),
  reusePort: BOOLEAN_RULE,
  proxyProtocol: BOOLEAN_RULE,
  offerEcho: BOOLEAN_RULE,
  handshakeTimeout: secondsRule(0.001, 3600),
  transport: choiceRule(TRANSPORT_CHOICES),
};

const SERVER_OPTION_NAMES: readonly string[] = [...Object.keys(SERVER_OPTION_RULES), "tls", "trace", "captureEndpoints"];

export function resolveServerOptions(options?: NameEchoServerOptions): ResolvedServerOptions {
  const given = checkOptionKeys(options, SERVER_OPTION_NAMES);
  const value = <K extends RuledOption>(option: K, fallback: NonNullable<NameEchoServerOptions[K]>) =>
    optionValue(given, option, SERVER_OPTION_RULES[option] as OptionRule<NonNullable<NameEchoServerOptions[K]>>, fallback);
  return {
    host: value("host", DEFAULTS.host),
    port: value("port", DEFAULTS.port),
    name: value("name", DEFAULTS.name),
    maxLineLength: value("maxLineLength", DEFAULTS.maxLineLength),
    maxConnections: value("maxConnections", DEFAULTS.maxConnections),
    idleTimeout: value("idleTimeout", DEFAULTS.idleTimeoutSeconds),
    shutdownTimeout: value("shutdownTimeout", DEFAULTS.shutdownTimeoutSeconds),
    maxUnsentBytes: value("maxUnsentBytes", DEFAULTS.maxUnsentBytes),
    maxClientMemory: value("maxClientMemory", defaultMaxClientMemory()),
    maxConnectionsPerIp: value("maxConnectionsPerIp", DEFAULTS.maxConnectionsPerIp),
    lingerTimeout: value("lingerTimeout", DEFAULTS.lingerTimeoutSeconds),
    backlog: value("backlog", DEFAULTS.backlog),
    reusePort: checkReusePort(value("reusePort", false)),
    proxyProtocol: value("proxyProtocol", false),
    offerEcho: value("offerEcho", false),
    handshakeTimeout: value("handshakeTimeout", DEFAULTS.handshakeTimeoutSeconds),
    transport: value("transport", "auto"),
    tls: checkTls(given.tls),
    trace: checkTrace(given.trace),
    captureEndpoints: given.captureEndpoints === undefined ? undefined : BOOLEAN_RULE.check(given.captureEndpoints, "captureEndpoints"),
  };
}

/** Asked for where this Node or platform cannot: refused, rather than listening without it. */
function checkReusePort(asked: boolean): boolean {
  const unavailable = asked ? reusePortUnavailable() : null;
  if (unavailable !== null) throw invalidOption("reusePort", `cannot be used here: ${unavailable}`);
  return asked;
}

function checkTrace(value: unknown): WireTraceSink | undefined {
  if (value === undefined) return undefined;
  const sink = value as Partial<WireTraceSink> | null;
  if (sink === null || typeof sink !== "object" || typeof sink.received !== "function" || typeof sink.sent !== "function") {
    throw invalidOption("trace", "must be an object with received(connection, bytes) and sent(connection, bytes) methods");
  }
  return value as WireTraceSink;
}

/** The certificate itself is tried when the server is built; here only the shape. */
function checkTls(value: unknown): tls.SecureContextOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidOption("tls", "must be an object with a PEM certificate (cert) and its private key (key), as for tls.createSecureContext()");
  }
  return value as tls.SecureContextOptions;
}
