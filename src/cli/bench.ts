/**
 * `name-echo bench`: the command around the load engine (src/bench/load.ts):
 * its flags, the live progress line, --json and --report.
 */
import { resolve } from "node:path";
import { parseTarget } from "../client/target.js";
import { DEFAULTS, validateInteger, validateName, validateSeconds } from "../options.js";
import { MIN_LINE_BYTES, runBench, type BenchOptions, type BenchProgress, type BenchResult } from "../bench/load.js";
import { runBenchInProcesses } from "../bench/processes.js";
import { parseCommandLine, usageError, type OptionSpec } from "./args.js";

export const BENCH_HELP = `Usage: name-echo bench [options]

Load generator: opens many connections to a name-echo server, sends lines as
fast as the server answers, checks every reply byte for byte, and prints the
reply rate and latency percentiles.

Options:
  --connect HOST:PORT   server to load (default ${DEFAULTS.host}:${DEFAULTS.port}; [::1]:8888 for IPv6)
  --clients N           connections at once (default 50)
  --duration SECONDS    how long to send (default 5); replies still owed then get 2 s more
  --pipeline N          lines in flight per connection (default 1: send, wait, send)
  --size BYTES          length of each line without its CR LF (default 24, at least 16)
  --name NAME           the name the server adds; replies are checked against it (default ${DEFAULTS.name})
  --processes N         make the load from N processes, the clients shared out, results merged
                        (latency histograms added): to load a server on many cores (default 1)
  --json                print the result as one JSON object on stdout
  --report FILE.html    also write a report to look at: throughput over time, the latency
                        percentile curve, the settings and the machine (one HTML file)
  -h, --help            show this help

Exit status: 0 when every reply was right, 1 when any error was seen, 2 for bad usage.
A live progress line goes to stderr when it is a terminal.
`;

const BENCH_OPTIONS: OptionSpec = {
  connect: { type: "string" },
  clients: { type: "string" },
  duration: { type: "string" },
  pipeline: { type: "string" },
  size: { type: "string" },
  name: { type: "string" },
  processes: { type: "string" },
  json: { type: "boolean" },
  report: { type: "string" },
  help: { type: "boolean", short: "h" },
};


export function benchOptionsFromArgs(values: Record<string, string | boolean | undefined>): BenchOptions {
  const connect = typeof values.connect === "string" ? values.connect : "";
  const { address: host, port } = parseTarget(connect, { target: "--connect", host: "--connect host", port: "--connect port" });
  return {
    host,
    port,
    clients: validateInteger(values.clients ?? 50, "--clients", 1, 100_000),
    durationSeconds: validateSeconds(values.duration ?? 5, "--duration", 0.1, 86_400),
    pipeline: validateInteger(values.pipeline ?? 1, "--pipeline", 1, 100_000),
    lineBytes: validateInteger(values.size ?? 24, "--size", MIN_LINE_BYTES, 1 << 20),
    name: validateName(values.name ?? DEFAULTS.name, "--name"),
  };
}

const number = new Intl.NumberFormat("en-US");

/** Collects what a report needs while the run lasts (the report module is loaded only with --report). */
async function startRecording(file: string, options: BenchOptions, progress: Array<(p: BenchProgress) => void>, argv: string[]) {
  const { BenchRecording, checkReportFile } = await import("../bench/report.js");
  checkReportFile(file);
  const recording = new BenchRecording(options, argv);
  progress.push((p) => recording.progress(p));
  options.onHistogram = (histogram) => recording.histogram(histogram);
  return recording;
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
  const processes = validateInteger(values.processes ?? 1, "--processes", 1, 1024);
  if (processes > options.clients) throw usageError(`--processes ${processes} is more than --clients ${options.clients}: every process needs a connection`);
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
    await recording.write(reportFile, result);
    // On stderr, so --json's stdout stays one JSON document.
    process.stderr.write(`report written to ${resolve(reportFile)}; open it in a browser\n`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatResult(result));
  return result.errors > 0 ? 1 : 0;
}
