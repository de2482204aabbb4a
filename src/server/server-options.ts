/**
 * NameEchoServer's options: what a caller passed, resolved into a complete,
 * checked set by the rows of options.ts's table (each option's rule and
 * default). The CLI parses its flags by the same rows, so a flag and an
 * option are refused in the same words.
 */
import type * as tls from "node:tls";
import { invalidOption } from "../errors.js";
import { BOOLEAN_RULE, checkOptionKeys, defaultOf, optionValue, SERVER_OPTION_TABLE, type OptionRow, type RuledServerOption } from "../options.js";
import { reusePortUnavailable } from "./reuse-port.js";
import type { WireTraceSink } from "./connection.js";
import type { NameEchoServerOptions, ResolvedServerOptions } from "./server.js";

const SERVER_OPTION_NAMES: readonly string[] = [...Object.keys(SERVER_OPTION_TABLE), "tls", "trace", "captureEndpoints"];

export function resolveServerOptions(options?: NameEchoServerOptions): ResolvedServerOptions {
  const given = checkOptionKeys(options, SERVER_OPTION_NAMES);
  // Every ruled option from its row: its value if given (checked), else its default.
  const ruled: Record<string, unknown> = {};
  for (const [option, row] of Object.entries<OptionRow>(SERVER_OPTION_TABLE)) ruled[option] = optionValue(given, option, row.rule, defaultOf(row));
  const resolved = ruled as Pick<ResolvedServerOptions, RuledServerOption>;
  return {
    ...resolved,
    reusePort: checkReusePort(resolved.reusePort),
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
