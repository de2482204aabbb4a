/** The `name-echo` command: dispatch, exit codes, one-line errors. */
import { readFileSync } from "node:fs";
import { NameEchoError } from "../errors.js";
import { usageError } from "./args.js";
import { connect } from "./connect.js";
import { serve } from "./serve.js";

export const MAIN_HELP = `Usage: name-echo <command> [options]

A TCP line server that replies to every line with a name added.

Commands:
  serve      run the server (name-echo serve --help)
  connect    connect to a server and send it lines (name-echo connect --help)
  bench      load a server and measure it (name-echo bench --help)

Options:
  -h, --help     show this help
  -v, --version  show the version
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  serve,
  connect,
  // Loaded on demand: the load generator and its histogram library cost
  // start-up time and memory that `serve` should not pay.
  bench: async (argv) => (await import("./bench.js")).bench(argv),
};

export function version(): string {
  const packageJson = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
}

/** Runs the CLI and sets process.exitCode; never throws. */
export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv);
}

export async function run(argv: string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      process.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === "-v" || command === "--version") {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    const handler = COMMANDS[command];
    if (!handler) {
      throw usageError(`unknown command '${command}'; the commands are: ${Object.keys(COMMANDS).join(", ")} (see 'name-echo --help')`);
    }
    return await handler(rest);
  } catch (error) {
    return reportError(error);
  }
}

/** Expected failures get one line and an exit code; anything else is a bug and keeps its stack. */
export function reportError(error: unknown): number {
  if (error instanceof NameEchoError) {
    // One line, always: the operator reads it, scripts grep it.
    process.stderr.write(`name-echo: ${error.message.replace(/\s*\n\s*/g, " ")}\n`);
    return error.code === "ERR_USAGE" || error.code === "ERR_INVALID_OPTION" ? 2 : 1;
  }
  process.stderr.write(`name-echo: internal error, please report it: ${error instanceof Error ? error.stack : String(error)}\n`);
  return 70;
}
