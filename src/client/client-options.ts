/**
 * NameEchoClient.connect()'s options, checked before any connection is made
 * by the same rules as the server's options.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { invalidOption } from "../errors.js";
import { checkOptionKeys, integerRule, optionValue, secondsRule } from "../options.js";
import type { NameEchoClientOptions } from "./client.js";

const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
/** Long enough for any healthy server under load; short enough that a wedged one is noticed. */
const DEFAULT_REPLY_TIMEOUT_SECONDS = 30;
/** Replies are a line plus a name; the server's own limit is 8 KiB by default, so 1 MiB leaves room for any setting. */
const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

export interface ResolvedClientOptions {
  connectTimeout: number;
  replyTimeout: number;
  maxLineLength: number;
  /** undefined (or false given): plain TCP. */
  tls: true | TlsConnectionOptions | undefined;
}

const CLIENT_OPTION_NAMES = ["connectTimeout", "replyTimeout", "maxLineLength", "tls"] as const;

export function resolveClientOptions(options?: NameEchoClientOptions): ResolvedClientOptions {
  const given = checkOptionKeys(options, CLIENT_OPTION_NAMES);
  return {
    connectTimeout: optionValue(given, "connectTimeout", secondsRule(0.001, 2_000_000), DEFAULT_CONNECT_TIMEOUT_SECONDS),
    replyTimeout: optionValue(given, "replyTimeout", secondsRule(0, 2_000_000), DEFAULT_REPLY_TIMEOUT_SECONDS),
    maxLineLength: optionValue(given, "maxLineLength", integerRule(1, 1 << 30), DEFAULT_MAX_LINE_LENGTH),
    tls: checkTls(given.tls),
  };
}

function checkTls(value: unknown): ResolvedClientOptions["tls"] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidOption("tls", "must be true, false, or tls.connect() options such as { ca }");
  }
  return value as TlsConnectionOptions;
}
