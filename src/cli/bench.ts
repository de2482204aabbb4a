/**
 * `name-echo bench`: the command around the load engine (src/load/load.ts):
 * its flags, the live progress line, --json and --report.
 */
import { resolve } from "node:path";
import { parseTarget } from "../client/target.js";
import { NameEchoError } from "../errors.js";
import { BOOLEAN_RULE, DEFAULTS, integerRule, NAME_RULE, secondsRule, TEXT_RULE, type OptionRow } from "../options.js";
import { MIN_LINE_BYTES, runBench, type BenchOptions, type BenchProgress, type BenchResult } from "../load/load.js";
import { runBenchInProcesses } from "../load/processes.js";
import { flagsHelp, flagValue, optionSpec, parseCommandLine, usageError, type FlagRow, type OptionSpec } from "./args.js";
import { flagSpeller } from "./config.js";

/** bench's flags: each one's default, rule and help line. */
const BENCH_OPTION_TABLE = {
  connect: {
    flag: "connect",
    value: "HOST:PORT",
    rule: TEXT_RULE,
    default: undefined,
    shownDefault: `${DEFAULTS.host}:${DEFAULTS.port}; [::1]:8888 for IPv6`,
    help: "server to load",
  },
  clients: { flag: "clients", value: "N", rule: integerRule(1, 100_000), default: 50, help: "connections at once" },
  duration: {
    flag: "duration",
    value: "SECONDS",
    rule: secondsRule(0.1, 86_400),
    default: 5,
    help: "how long to send; replies still owed then get 2 s more",
  },
  pipeline: {
    flag: "pipeline",
    value: "N",
    rule: integerRule(1, 100_000),
    default: 1,
    shownDefault: "1: send, wait, send",
    help: "lines in flight per connection",
  },
  size: {
    flag: "size",
    value: "BYTES",
    rule: integerRule(MIN_LINE_BYTES, 1 << 20),
    default: 24,
    shownDefault: `24, at least ${MIN_LINE_BYTES}`,
    help: "length of each line without its CR LF",
  },
  name: { flag: "name", value: "NAME", rule: NAME_RULE, default: DEFAULTS.name, help: "the name the server adds; replies are checked against it" },
  processes: {
    flag: "processes",
    value: "N",
    rule: integerRule(1, 1024),
    default: 1,
    help: "make the load from N processes, the clients shared out, results merged (latency histograms added): to load a server on many cores",
  },
  json: { flag: "json", rule: BOOLEAN_RULE, default: false, help: "print the result as one JSON object on stdout" },
  report: {
    flag: "report",
    value: "FILE.html",
    rule: TEXT_RULE,
    default: undefined,
    help: "also write a report to look at: throughput over time, the latency percentile curve, the settings and the machine (one HTML file)",
  },
} satisfies Readonly<Record<string, OptionRow & { flag: string }>>;

const BENCH_ROWS: readonly FlagRow[] = Object.values(BENCH_OPTION_TABLE);

export const BENCH_HELP = `Usage: name-echo bench [options]

Load generator: opens many connections to a name-echo server, sends lines as
fast as the server answers, checks every reply byte for byte, and prints the
reply rate and latency percentiles.

Options:
${flagsHelp(BENCH_ROWS)}  -h, --help                show this help

Exit status: 0 when every reply was right, 1 when any error was seen, 2 for bad usage.
A live progress line goes to stderr when it is a terminal.
`;

const BENCH_OPTIONS: OptionSpec = { ...optionSpec(BENCH_ROWS), help: { type: "boolean", short: "h" } };
const dashed = flagSpeller();

export function benchOptionsFromArgs(values: Record<string, string | boolean | undefined>): BenchOptions {
  const connect = typeof values.connect === "string" ? values.connect : "";
  const { address: host, port } = parseTarget(connect, { target: "--connect", host: "--connect host", port: "--connect port" });
  return {
    host,
    port,
    clients: flagValue(values, BENCH_OPTION_TABLE.clients, dashed)!,
    durationSeconds: flagValue(values, BENCH_OPTION_TABLE.duration, dashed)!,
    pipeline: flagValue(values, BENCH_OPTION_TABLE.pipeline, dashed)!,
    lineBytes: flagValue(values, BENCH_OPTION_TABLE.size, dashed)!,
    name: flagValue(values, BENCH_OPTION_TABLE.name, dashed)!,
  };
}

const number = new Intl.NumberFormat("en-US");

/** Collects what a report needs while the run lasts (the report module is loaded only with --report). */
async function startRecording(file: string, options: BenchOptions, progress: Array<(p: BenchProgress) => void>, argv: string[]) {
  const { BenchRecording, checkReportFile } = await import("../load/report.js");
  await asReportFlag(() => checkReportFile(file));
  const recording = new BenchRecording(options, argv);
  progress.push((p) => recording.progress(p));
  options.onHistogram = (histogram) => recording.histogram(histogram);
  return recording;
}

/** The report's errors (a file that cannot be written) told as --report's. */
async function asReportFlag<T>(step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof NameEchoError)) throw error;
    throw usageError(`--report: ${error.message}`);
  }
}

export function formatResult(r: BenchResult): string {
  const l = r.latencyUs;
  const lines = [
    `name-echo bench: ${r.target}, ${r.clients} clients${r.processes ? ` from ${r.processes} processes` : ""}, pipeline ${r.pipeline}, lines of ${r.lineBytes} bytes, ${r.durationSeconds} s`,
    `  replies ok     ${number.format(r.repliesOk)} (${number.format(r.repliesPerSecond)}/s)`,
    `  latency µs     p50 ${number.format(l.p50)}  p90 ${number.format(l.p90)}  p99 ${number.format(l.p99)}  p99.9 ${number.format(l.p999)}  max ${number.format(l.max)}`,
    `  errors         ${number.format(r.errors)}` +
      (r.errors > 0
        ? ` (bad replies ${r.badReplies}, lost ${r.lost}, unexpected bytes ${r.unexpectedBytes}, connection errors ${r.connectionErrors}, connect errors ${r.connectErrors})`
        : ""),
  ];
  if (r.repliesOkPerProcess) lines.push(`  per process    ${r.repliesOkPerProcess.map((n) => number.format(n)).join(" + ")} replies ok`);
  if (r.firstError) lines.push(`  first error    ${r.firstError}`);
  return `${lines.join("\n")}\n`;
}

export async function bench(argv: string[]): Promise<number> {
  const { values } = parseCommandLine("bench", argv, BENCH_OPTIONS, 0);
  if (values.help) {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  const options = benchOptionsFromArgs(values);
  const processes = flagValue(values, BENCH_OPTION_TABLE.processes, dashed)!;
  if (processes > options.clients)
    throw usageError(`--processes ${processes} is more than --clients ${options.clients}: every process needs a connection`);
  const tty = process.stderr.isTTY === true;
  const reportFile = typeof values.report === "string" ? values.report : undefined;
  if (reportFile === "") throw usageError("--report needs a file name, e.g. --report bench.html");
  const progress: Array<(p: BenchProgress) => void> = [];
  if (tty) {
    progress.push((p) => {
      process.stderr.write(
        `\r\x1b[K${p.elapsedSeconds.toFixed(0).padStart(3)} s  ${number.format(Math.round(p.rate))} replies/s  ` +
          `p50 ${number.format(p.p50Us)} µs  p99 ${number.format(p.p99Us)} µs  errors ${p.errors}`,
      );
    });
  }
  const recording = reportFile === undefined ? undefined : await startRecording(reportFile, options, progress, argv);
  if (progress.length > 0) options.onProgress = (p) => progress.forEach((show) => show(p));
  const result = processes > 1 ? await runBenchInProcesses(options, processes) : await runBench(options);
  if (tty) process.stderr.write("\r\x1b[K");
  if (recording !== undefined && reportFile !== undefined) {
    await asReportFlag(() => recording.write(reportFile, result));
    // On stderr, so --json's stdout stays one JSON document.
    process.stderr.write(`report written to ${resolve(reportFile)}; open it in a browser\n`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatResult(result));
  return result.errors > 0 ? 1 : 0;
}
