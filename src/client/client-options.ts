/**
 * NameEchoClient.connect()'s options, checked before any connection is made
 * by the same rules as the server's options; their rows (rule, default) are
 * in options.ts's table.
 */
import type { ConnectionOptions as TlsConnectionOptions } from "node:tls";
import { invalidOption } from "../errors.js";
import { checkOptionKeys, CLIENT_OPTION_TABLE, optionValue } from "../options.js";
import type { NameEchoClientOptions } from "./client.js";

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
    connectTimeout: clientOption(given, "connectTimeout"),
    replyTimeout: clientOption(given, "replyTimeout"),
    maxLineLength: clientOption(given, "maxLineLength"),
    tls: checkTls(given.tls),
  };
}

/** A numeric option by its row: checked if given, else its default. */
function clientOption(given: Record<string, unknown>, option: keyof typeof CLIENT_OPTION_TABLE): number {
  const row = CLIENT_OPTION_TABLE[option];
  return optionValue(given, option, row.rule, row.default);
}

function checkTls(value: unknown): ResolvedClientOptions["tls"] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidOption("tls", "must be true, false, or tls.connect() options such as { ca }");
  }
  return value as TlsConnectionOptions;
}
