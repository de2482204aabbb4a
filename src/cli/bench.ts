/**
 * `name-echo bench`: a load generator for users, as redis-benchmark is for
 * Redis. Opens --clients connections to a name-echo server (or anything that
 * speaks the protocol), keeps --pipeline lines in flight on each for
 * --duration seconds, checks every reply byte for byte, and reports the
 * reply rate and latency percentiles (HdrHistogram).
 *
 * Every line is built from its client number and sequence number, so the
 * reply owed to it can be rebuilt when it arrives: nothing is queued, and a
 * missing, doubled, reordered or changed reply is caught exactly. After a
 * wrong reply the checker skips to the next LF and carries on, as the shared
 * yardstick's C loadgen does.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";
import { openConnection } from "../client/connect.js";
import { parseTarget } from "../client/target.js";
import { Endpoint } from "../endpoint.js";
import { NameEchoError } from "../errors.js";
import { DEFAULTS, validateInteger, validateName, validateSeconds } from "../options.js";
import { parseCommandLine, usageError, type OptionSpec } from "./args.js";
import { escapeClientBytes } from "./log.js";

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
  json: { type: "boolean" },
  report: { type: "string" },
  help: { type: "boolean", short: "h" },
};

const LF = 0x0a;
/** Replies still owed when the duration ends get this long to arrive before they count as lost. */
const GRACE_MS = 2000;
/** Lines are at least this long, so that the client tag and the 8-digit sequence number always fit. */
const MIN_LINE_BYTES = 16;
/** Latencies are recorded in microseconds, up to a minute. */
const MAX_LATENCY_US = 60_000_000;

export interface BenchOptions {
  host: string;
  port: number;
  clients: number;
  durationSeconds: number;
  pipeline: number;
  lineBytes: number;
  name: string;
  /** Called about once a second while the run lasts. */
  onProgress?: (progress: BenchProgress) => void;
  /** Called once at the end with the run's latency histogram (µs), e.g. for the percentile curve of a report. */
  onHistogram?: (histogram: Histogram) => void;
}

export interface BenchProgress {
  elapsedSeconds: number;
  repliesOk: number;
  /** Good replies per second over the last interval. */
  rate: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface BenchResult {
  target: string;
  clients: number;
  pipeline: number;
  lineBytes: number;
  durationSeconds: number;
  /** Good replies that arrived within the measured duration. */
  repliesOk: number;
  repliesPerSecond: number;
  /** Every good reply, including those that arrived during the grace period. */
  repliesOkTotal: number;
  linesSent: number;
  /** bad replies + lost + unexpected bytes + connection errors + connect errors */
  errors: number;
  badReplies: number;
  /** Lines sent that were never answered. */
  lost: number;
  /** Bytes that arrived while no reply was owed. */
  unexpectedBytes: number;
  /** Connections that were reset or closed by the server during the run. */
  connectionErrors: number;
  connectErrors: number;
  firstError: string;
  latencyUs: LatencySummary;
}

/** The parts of a run that every client adds to. */
interface Totals {
  sent: number;
  ok: number;
  okInWindow: number;
  bad: number;
  lost: number;
  unexpected: number;
  connErrors: number;
  connectErrors: number;
  firstError: string;
  measuring: boolean;
  stopping: boolean;
  histogram: Histogram;
  interval: Histogram;
}

function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_LATENCY_US, numberOfSignificantValueDigits: 3 });
}

/**
 * One connection: sends numbered lines, keeps `pipeline` of them in flight,
 * and checks each reply against the one rebuilt from its sequence number.
 */
class BenchClient {
  readonly socket: net.Socket;
  private readonly totals: Totals;
  private readonly pipeline: number;
  private readonly lineBytes: number;
  private readonly tag: Buffer;
  private readonly suffix: Buffer;
  /** Send time (performance.now(), ms) of each line in flight, by sequence number modulo pipeline. */
  private readonly sentAt: Float64Array;
  /** The reply owed to the oldest line in flight, rebuilt when it is needed. */
  private readonly expected: Buffer;
  private expectedSeq = -1;
  /** How many bytes of the owed reply have arrived and matched so far. */
  private matched = 0;
  /** After a wrong reply: skipping to the next LF. */
  private resyncing = false;
  private nextSeq = 0;
  private answeredSeq = 0;
  private closed = false;
  private onIdle: (() => void) | null = null;

  constructor(socket: net.Socket, index: number, options: BenchOptions, totals: Totals) {
    this.socket = socket;
    this.totals = totals;
    this.pipeline = options.pipeline;
    this.lineBytes = options.lineBytes;
    this.tag = Buffer.from(`c${index.toString(36)}.`, "latin1");
    this.suffix = Buffer.from(` ${options.name}\r\n`, "utf8");
    this.sentAt = new Float64Array(options.pipeline);
    this.expected = Buffer.alloc(options.lineBytes + this.suffix.length);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => this.fail(`connection error: ${error.code ?? error.message}`));
    socket.on("close", () => {
      if (!this.closed) this.fail("the server closed the connection");
      this.closed = true;
      this.checkIdle();
    });
  }

  get inFlight(): number {
    return this.nextSeq - this.answeredSeq;
  }

  start(): void {
    this.send(this.pipeline);
  }

  /** Resolves once every line sent has been answered (or the connection is gone). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.onIdle = resolve;
      this.checkIdle();
    });
  }

  /** Counts what is still owed as lost and closes. */
  finish(): void {
    if (!this.closed) {
      this.totals.lost += this.inFlight;
      if (this.inFlight > 0) this.note(`${this.inFlight} line(s) sent on ${this.tag.toString("latin1")} were never answered`);
    }
    this.closed = true;
    this.socket.destroy();
  }

  private checkIdle(): void {
    if (this.onIdle !== null && (this.closed || this.inFlight === 0)) {
      const resolve = this.onIdle;
      this.onIdle = null;
      resolve();
    }
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.totals.connErrors++;
    this.totals.lost += this.inFlight;
    this.note(`${this.tag.toString("latin1")} ${why} (${this.inFlight} line(s) unanswered)`);
    this.answeredSeq = this.nextSeq;
  }

  private note(message: string): void {
    if (this.totals.firstError === "") this.totals.firstError = message;
  }

  /** Writes line `seq` (without CR LF) into `target` at `at`. */
  private writeLine(target: Buffer, at: number, seq: number): void {
    const tag = this.tag;
    tag.copy(target, at);
    let pos = at + tag.length;
    // Eight hex digits of the sequence number, most significant first.
    for (let shift = 28; shift >= 0; shift -= 4) {
      const digit = (seq >>> shift) & 0xf;
      target[pos++] = digit < 10 ? 0x30 + digit : 0x57 + digit;
    }
    // Padding: a letter that changes with the sequence number, so a reply
    // swapped with its neighbour differs in more than the counter.
    const pad = 0x61 + (seq % 26);
    target.fill(pad, pos, at + this.lineBytes);
  }

  private send(count: number): void {
    if (count <= 0 || this.closed) return;
    const stride = this.lineBytes + 2;
    const out = Buffer.allocUnsafe(count * stride);
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const seq = this.nextSeq++;
      const at = i * stride;
      this.writeLine(out, at, seq);
      out[at + this.lineBytes] = 0x0d;
      out[at + this.lineBytes + 1] = LF;
      this.sentAt[seq % this.pipeline] = now;
    }
    this.totals.sent += count;
    this.socket.write(out);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    const totals = this.totals;
    let offset = 0;
    let answered = 0;
    while (offset < chunk.length) {
      if (this.inFlight === 0) {
        totals.unexpected++;
        this.note(`${this.tag.toString("latin1")}: bytes arrived while no reply was owed: "${escapeClientBytes(chunk.subarray(offset), 60)}"`);
        break;
      }
      if (this.resyncing) {
        const lf = chunk.indexOf(LF, offset);
        if (lf === -1) break;
        offset = lf + 1;
        this.resyncing = false;
        this.matched = 0;
        this.answeredSeq++;
        answered++;
        continue;
      }
      const seq = this.answeredSeq;
      const expected = this.expected;
      if (this.expectedSeq !== seq) {
        this.writeLine(expected, 0, seq);
        this.suffix.copy(expected, this.lineBytes);
        this.expectedSeq = seq;
      }
      const want = expected.length - this.matched;
      const take = Math.min(want, chunk.length - offset);
      if (chunk.compare(expected, this.matched, this.matched + take, offset, offset + take) !== 0) {
        totals.bad++;
        this.note(
          `${this.tag.toString("latin1")} reply #${seq}: expected "${escapeClientBytes(expected, 80)}", ` +
            `got "${escapeClientBytes(chunk.subarray(offset, offset + Math.max(take, 40)), 80)}"`,
        );
        this.resyncing = true;
        continue;
      }
      offset += take;
      this.matched += take;
      if (this.matched === expected.length) {
        this.matched = 0;
        this.answeredSeq++;
        answered++;
        const latencyUs = Math.round((performance.now() - this.sentAt[seq % this.pipeline]!) * 1000);
        totals.ok++;
        if (totals.measuring) {
          totals.okInWindow++;
          const clamped = Math.min(Math.max(latencyUs, 1), MAX_LATENCY_US);
          totals.histogram.recordValue(clamped);
          totals.interval.recordValue(clamped);
        }
      }
    }
    // Top the window up with one write, as the C loadgen does after every read.
    if (!totals.stopping) this.send(answered);
    this.checkIdle();
  }
}

function connectOne(target: Endpoint): Promise<net.Socket> {
  // No timeout of our own (a burst of connects may wait on the accept queue), and the
  // system's code (ECONNREFUSED), which the run reports, rather than the explained error.
  return openConnection(target, { timeoutMs: 0 }).catch((error: Error) => Promise.reject(error.cause ?? error));
}

/** Runs one benchmark; resolves with the result (it does not throw on bad replies, it counts them). */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const totals: Totals = {
    sent: 0,
    ok: 0,
    okInWindow: 0,
    bad: 0,
    lost: 0,
    unexpected: 0,
    connErrors: 0,
    connectErrors: 0,
    firstError: "",
    measuring: false,
    stopping: false,
    histogram: newHistogram(),
    interval: newHistogram(),
  };
  const target = new Endpoint(options.host, options.port);
  const clients: BenchClient[] = [];
  const settled = await Promise.allSettled(Array.from({ length: options.clients }, () => connectOne(target)));
  let connectError: unknown;
  settled.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") {
      clients.push(new BenchClient(outcome.value, index, options, totals));
    } else {
      totals.connectErrors++;
      connectError ??= outcome.reason;
    }
  });
  if (clients.length === 0) {
    const code = (connectError as NodeJS.ErrnoException | undefined)?.code ?? String(connectError);
    const hint = code === "ECONNREFUSED" ? "; is the server running? (name-echo serve)" : "";
    throw new NameEchoError("ERR_CONNECTION_REFUSED", `could not connect to ${target}: ${code}${hint}`);
  }
  if (connectError !== undefined) {
    const code = (connectError as NodeJS.ErrnoException).code ?? String(connectError);
    totals.firstError ||= `${totals.connectErrors} of ${options.clients} connects failed: ${code}`;
  }

  const started = performance.now();
  totals.measuring = true;
  for (const client of clients) client.start();

  let lastOk = 0;
  let lastTick = started;
  const progress = options.onProgress;
  const ticker = progress
    ? setInterval(() => {
        const now = performance.now();
        progress({
          elapsedSeconds: (now - started) / 1000,
          repliesOk: totals.okInWindow,
          rate: ((totals.okInWindow - lastOk) * 1000) / (now - lastTick),
          p50Us: totals.interval.getValueAtPercentile(50),
          p99Us: totals.interval.getValueAtPercentile(99),
          errors: totals.bad + totals.lost + totals.unexpected + totals.connErrors + totals.connectErrors,
        });
        lastOk = totals.okInWindow;
        lastTick = now;
        totals.interval.reset();
      }, 1000)
    : null;

  await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
  const elapsedMs = performance.now() - started;
  totals.measuring = false;
  totals.stopping = true;
  if (ticker) clearInterval(ticker);

  // Let the replies already owed arrive (bounded), then count what is missing.
  let graceTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(clients.map((client) => client.whenIdle())),
    new Promise((resolve) => (graceTimer = setTimeout(resolve, GRACE_MS))),
  ]);
  clearTimeout(graceTimer);
  for (const client of clients) client.finish();

  const h = totals.histogram;
  options.onHistogram?.(h);
  const empty = h.totalCount === 0;
  const errors = totals.bad + totals.lost + totals.unexpected + totals.connErrors + totals.connectErrors;
  const result: BenchResult = {
    target: target.toString(),
    clients: options.clients,
    pipeline: options.pipeline,
    lineBytes: options.lineBytes,
    durationSeconds: Math.round(elapsedMs) / 1000,
    repliesOk: totals.okInWindow,
    repliesPerSecond: Math.round((totals.okInWindow * 1000) / elapsedMs),
    repliesOkTotal: totals.ok,
    linesSent: totals.sent,
    errors,
    badReplies: totals.bad,
    lost: totals.lost,
    unexpectedBytes: totals.unexpected,
    connectionErrors: totals.connErrors,
    connectErrors: totals.connectErrors,
    firstError: totals.firstError,
    latencyUs: {
      p50: empty ? 0 : h.getValueAtPercentile(50),
      p90: empty ? 0 : h.getValueAtPercentile(90),
      p99: empty ? 0 : h.getValueAtPercentile(99),
      p999: empty ? 0 : h.getValueAtPercentile(99.9),
      max: empty ? 0 : h.maxValue,
      mean: empty ? 0 : Math.round(h.mean),
    },
  };
  return result;
}

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
    `name-echo bench: ${r.target}, ${r.clients} clients, pipeline ${r.pipeline}, lines of ${r.lineBytes} bytes, ${r.durationSeconds} s`,
    `  replies ok     ${number.format(r.repliesOk)} (${number.format(r.repliesPerSecond)}/s)`,
    `  latency µs     p50 ${number.format(l.p50)}  p90 ${number.format(l.p90)}  p99 ${number.format(l.p99)}  p99.9 ${number.format(l.p999)}  max ${number.format(l.max)}`,
    `  errors         ${number.format(r.errors)}` +
      (r.errors > 0
        ? ` (bad replies ${r.badReplies}, lost ${r.lost}, unexpected bytes ${r.unexpectedBytes}, connection errors ${r.connectionErrors}, connect errors ${r.connectErrors})`
        : ""),
  ];
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
  const result = await runBench(options);
  if (tty) process.stderr.write("\r\x1b[K");
  if (recording !== undefined && reportFile !== undefined) await recording.write(reportFile, result);
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : formatResult(result));
  return result.errors > 0 ? 1 : 0;
}
