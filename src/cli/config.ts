/**
 * Configuration from the environment: every flag of a command can also be
 * given as NAME_ECHO_<FLAG> (--max-line-length → NAME_ECHO_MAX_LINE_LENGTH),
 * as systemd units and containers prefer. A flag on the command line wins
 * over the environment; the environment wins over the defaults.
 *
 * Values are checked by the same validators as flags; a bad one is reported
 * with the variable's name, so the operator knows where to look.
 */
import { NameEchoError } from "../errors.js";
import { BOOLEAN_RULE } from "../options.js";
import { usageError, type OptionSpec, type ParsedArgs } from "./args.js";

export const ENV_PREFIX = "NAME_ECHO_";

/** Flags that make no sense from the environment. */
const NOT_FROM_ENVIRONMENT = new Set(["help", "version"]);

export function environmentName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, "_");
}

export interface Configured {
  values: ParsedArgs["values"];
  /** flag → the variable it came from, for error messages. */
  fromEnvironment: Map<string, string>;
  /** A flag as the user gave it, for error messages: "--port", or "NAME_ECHO_PORT" when the value came from there. */
  spell: (flag: string) => string;
}

/** "--port", or the NAME_ECHO_* variable the flag's value came from. */
export function flagSpeller(fromEnvironment: ReadonlyMap<string, string> = new Map()): (flag: string) => string {
  return (flag) => fromEnvironment.get(flag) ?? `--${flag}`;
}

export function applyEnvironment(options: OptionSpec, values: ParsedArgs["values"], env: NodeJS.ProcessEnv = process.env): Configured {
  const merged = { ...values };
  const fromEnvironment = new Map<string, string>();
  for (const [flag, spec] of Object.entries(options)) {
    if (NOT_FROM_ENVIRONMENT.has(flag) || merged[flag] !== undefined) continue;
    const name = environmentName(flag);
    const raw = env[name];
    // An empty variable is how shells and unit files unset things: treat it as absent.
    if (raw === undefined || raw === "") continue;
    merged[flag] = spec.type === "boolean" ? parseBoolean(name, raw) : raw;
    fromEnvironment.set(flag, name);
  }
  return { values: merged, fromEnvironment, spell: flagSpeller(fromEnvironment) };
}

function parseBoolean(name: string, raw: string): boolean {
  try {
    return BOOLEAN_RULE.fromText(raw, name);
  } catch (error) {
    throw usageError((error as Error).message);
  }
}

/** The "Environment" section of a command's --help. */
export function environmentHelp(options: OptionSpec): string {
  const flags = Object.keys(options).filter((flag) => !NOT_FROM_ENVIRONMENT.has(flag));
  const width = Math.max(...flags.map((flag) => environmentName(flag).length));
  const lines = flags.map((flag) => `  ${environmentName(flag).padEnd(width)}  --${flag}`);
  return `\nEnvironment (a flag on the command line wins):\n${lines.join("\n")}\n`;
}

/**
 * A library error about an option, retold with what the user typed in the
 * option's place: the flag, or the NAME_ECHO_* variable its value came from
 * ("maxLineLength must be …" → "--max-line-length must be …"). `flagOfOption`
 * maps library options to flags; an option set by two flags (tls) names both.
 */
export function inCommandLineTerms(
  error: unknown,
  flagOfOption: Readonly<Record<string, string | readonly string[]>>,
  spell: (flag: string) => string,
): unknown {
  if (!(error instanceof NameEchoError) || error.option === undefined || error.problem === undefined) return error;
  const flags = flagOfOption[error.option];
  if (flags === undefined) return error;
  const name = typeof flags === "string" ? spell(flags) : flags.map(spell).join("/");
  return new NameEchoError(error.code, `${name} ${error.problem}`, { cause: error, option: error.option, problem: error.problem });
}
