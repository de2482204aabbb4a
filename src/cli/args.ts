/**
 * argv → options, with node:util's parseArgs doing the parsing and the
 * library's validators checking the values, so the CLI and the class reject
 * the same things with the same words.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { NameEchoError } from "../errors.js";
import { defaultOf, nearestName, type OptionRow } from "../options.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** A usage error: exits 2 with one line that says what to fix. */
export function usageError(message: string): NameEchoError {
  return new NameEchoError("ERR_USAGE", message);
}

/** A row that has a flag. */
export type FlagRow<T = unknown> = OptionRow<T> & { readonly flag: string };

/** parseArgs' spec for the rows' flags: a flag with a value takes a string, a switch none. */
export function optionSpec(rows: readonly FlagRow[]): OptionSpec {
  return Object.fromEntries(rows.map((row) => [row.flag, { type: row.value === undefined ? "boolean" : "string" }]));
}

/**
 * A flag's value as its row's rule reads it, or its default when neither the
 * command line nor the environment gave it. `spell` names the flag as the
 * user gave it (the flag, or its NAME_ECHO_* variable).
 */
export function flagValue<T>(values: ParsedArgs["values"], row: FlagRow<T>, spell: (flag: string) => string): T | undefined {
  const given = values[row.flag];
  if (given === undefined) return defaultOf(row);
  // A switch is true when given; its variable was read as true or false already.
  if (typeof given === "boolean") return given as T;
  return row.rule.fromText(given, spell(row.flag));
}

/** Where --help's descriptions start, and how wide its lines may run. */
const HELP_COLUMN = 28;
const HELP_WIDTH = 100;

/** The options part of a command's --help: one entry per row, with its default, wrapped. */
export function flagsHelp(rows: readonly FlagRow[]): string {
  return rows
    .map((row) => {
      const name = `  --${row.flag}${row.value === undefined ? "" : ` ${row.value}`}`;
      const fallback = row.shownDefault ?? (row.value === undefined || row.default === undefined ? undefined : String(defaultOf(row)));
      // The default is one piece, never cut between two lines.
      const words = [...row.help.split(" "), ...(fallback === undefined ? [] : [`(default ${fallback})`])];
      const lines: string[] = [];
      let line = name.length + 2 > HELP_COLUMN ? `${name}  ` : name.padEnd(HELP_COLUMN);
      let empty = true;
      for (const word of words) {
        if (!empty && line.length + word.length > HELP_WIDTH) {
          lines.push(line.trimEnd());
          line = " ".repeat(HELP_COLUMN);
        }
        line += `${word} `;
        empty = false;
      }
      lines.push(line.trimEnd());
      return `${lines.join("\n")}\n`;
    })
    .join("");
}

export function parseCommandLine(command: string, argv: string[], options: OptionSpec, maxPositionals: number): ParsedArgs {
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
