/**
 * argv → options, with node:util's parseArgs doing the parsing and the
 * library's validators checking the values, so the CLI and the class reject
 * the same things with the same words.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { NameEchoError } from "../errors.js";
import { nearestName } from "../options.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** A usage error: exits 2 with one line that says what to fix. */
export function usageError(message: string): NameEchoError {
  return new NameEchoError("ERR_USAGE", message);
}

/** A flag's word, one of `allowed`; `what` is the flag or variable as the user set it. */
export function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  const known = allowed.find((word) => word === value);
  if (known === undefined) throw usageError(`${what} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
  return known;
}

export function parseCommandLine(
  command: string,
  argv: string[],
  options: OptionSpec,
  maxPositionals: number,
): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError(`${explainParseError(error, Object.keys(options))}; see 'name-echo ${command} --help'`);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).join(" ");
    throw usageError(`unexpected argument '${extra}'; see 'name-echo ${command} --help'`);
  }
  return parsed as ParsedArgs;
}

/** parseArgs' messages are long and mention internals; keep the part a user needs. */
function explainParseError(error: unknown, flags: readonly string[]): string {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const option = /'(-{1,2}[^'\s]+)/.exec(message)?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const nearest = option?.startsWith("--") ? nearestName(option.slice(2).split("=")[0]!, flags) : undefined;
      return `unknown option '${option ?? message}'${nearest ? ` (did you mean --${nearest}?)` : ""}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (option && /argument missing/.test(message)) return `option '${option}' needs a value`;
      // "--port --name x" or "--max-line-length -5": the next word looks like an option.
      if (option && /ambiguous/.test(message)) {
        return `option '${option}' needs a value (a value that starts with '-' is written ${option}=VALUE)`;
      }
      if (option) return `option '${option}' takes no value`;
      return message;
    default:
      return message;
  }
}
