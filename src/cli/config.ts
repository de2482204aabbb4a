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
import type { OptionSpec, ParsedArgs } from "./args.js";

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
}

export function applyEnvironment(
  options: OptionSpec,
  values: ParsedArgs["values"],
  env: NodeJS.ProcessEnv = process.env,
): Configured {
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
  return { values: merged, fromEnvironment };
}

function parseBoolean(name: string, raw: string): boolean {
  const value = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new NameEchoError("ERR_USAGE", `${name} must be 1, true, yes or on (or 0, false, no, off), not ${JSON.stringify(raw)}`);
}

/** The "Environment" section of a command's --help. */
export function environmentHelp(options: OptionSpec): string {
  const flags = Object.keys(options).filter((flag) => !NOT_FROM_ENVIRONMENT.has(flag));
  const width = Math.max(...flags.map((flag) => environmentName(flag).length));
  const lines = flags.map((flag) => `  ${environmentName(flag).padEnd(width)}  --${flag}`);
  return `\nEnvironment (a flag on the command line wins):\n${lines.join("\n")}\n`;
}

/** Adds "(from NAME_ECHO_X)" to an option error whose value came from the environment. */
export function attributeToEnvironment(error: unknown, fromEnvironment: Map<string, string>, optionToFlag: Record<string, string>): unknown {
  if (!(error instanceof NameEchoError) || error.code !== "ERR_INVALID_OPTION") return error;
  for (const [option, flag] of Object.entries(optionToFlag)) {
    const variable = fromEnvironment.get(flag);
    if (variable && new RegExp(`^${option}\\b`).test(error.message)) {
      return new NameEchoError(error.code, `${error.message} (set by ${variable})`, { cause: error });
    }
  }
  return error;
}
