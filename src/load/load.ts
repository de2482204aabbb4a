/**
 * The load engine behind `name-echo bench`, as redis-benchmark is for Redis:
 * opens `clients` connections to a name-echo server (or anything that speaks
 * the protocol), keeps `pipeline` lines in flight on each for the duration,
 * has every reply checked byte for byte (numbered-replies.ts), and gathers the
 * reply rate and latency percentiles (HdrHistogram).
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";
import { openConnection } from "../client/open-connection.js";
import { Endpoint } from "../endpoint.js";
import { describeConnectionError, explainClientError, NameEchoError } from "../errors.js";
import { escapeClientBytes } from "../escape.js";
import { ReplyEncoder } from "../protocol/reply.js";
import { NumberedLines, ReplyChecker } from "./numbered-replies.js";

export { MIN_LINE_BYTES } from "./numbered-replies.js";

/** Replies still owed when the duration ends get this long to arrive before they count as lost. */
const GRACE_MS = 2000;
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
  /** The number of the first connection (its lines' tag): distinct per process when several share a run. Default 0. */
  firstClient?: number;
  /** Awaited once every connection is open, before the first line is sent: where processes sharing a run start together. */
  beforeStart?: () => Promise<void>;
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
  /** With --processes: how many processes made the load, and the good replies each counted in its window. */
  processes?: number;
  repliesOkPerProcess?: number[];
}

/** The parts of a run that every connection adds to. */
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

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_LATENCY_US, numberOfSignificantValueDigits: 3 });
}

function errorCount(totals: Totals): number {
  return totals.bad + totals.lost + totals.unexpected + totals.connErrors + totals.connectErrors;
}

/**
 * One connection: sends numbered lines, keeps `pipeline` of them in flight,
 * and times each reply its checker finds good.
 */
class BenchConnection {
  readonly socket: net.Socket;
  private readonly totals: Totals;
  private readonly pipeline: number;
  private readonly lines: NumberedLines;
  private readonly checker: ReplyChecker;
  /** This connection in error messages: its lines' tag, e.g. `c1a.`. */
  private readonly label: string;
  /** Send time (performance.now(), ms) of each line in flight, by sequence number modulo pipeline. */
  private readonly sentAt: Float64Array;
  private closed = false;
  private onIdle: (() => void) | null = null;

  constructor(socket: net.Socket, index: number, options: BenchOptions, encoder: ReplyEncoder, totals: Totals) {
    this.socket = socket;
    this.totals = totals;
    this.pipeline = options.pipeline;
    this.lines = new NumberedLines(index, options.lineBytes);
    this.label = this.lines.tag.toString("latin1");
    this.sentAt = new Float64Array(options.pipeline);
    this.checker = new ReplyChecker(this.lines, encoder, {
      good: (seq) => this.recordLatency(seq),
      bad: (seq, expected, got) => {
        totals.bad++;
        this.note(`${this.label} reply #${seq}: expected "${escapeClientBytes(expected, 80)}", got "${escapeClientBytes(got, 80)}"`);
      },
      unexpected: (bytes) => {
        totals.unexpected++;
        this.note(`${this.label}: bytes arrived while no reply was owed: "${escapeClientBytes(bytes, 60)}"`);
      },
    });
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => this.fail(`connection error: ${describeConnectionError(error)}`));
    socket.on("close", () => {
      if (!this.closed) this.fail("the server closed the connection");
      this.closed = true;
      this.checkIdle();
    });
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
      const owed = this.checker.inFlight;
      this.totals.lost += owed;
      if (owed > 0) this.note(`${owed} line(s) sent on ${this.label} were never answered`);
    }
    this.closed = true;
    this.socket.destroy();
  }

  private checkIdle(): void {
    if (this.onIdle !== null && (this.closed || this.checker.inFlight === 0)) {
      const resolve = this.onIdle;
      this.onIdle = null;
      resolve();
    }
  }

  private fail(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.totals.connErrors++;
    const owed = this.checker.abandon();
    this.totals.lost += owed;
    this.note(`${this.label} ${why} (${owed} line(s) unanswered)`);
  }

  private note(message: string): void {
    if (this.totals.firstError === "") this.totals.firstError = message;
  }

  private send(count: number): void {
    if (count <= 0 || this.closed) return;
    const first = this.checker.linesSent;
    const now = performance.now();
    for (let seq = first; seq < first + count; seq++) this.sentAt[seq % this.pipeline] = now;
    this.checker.expectReplies(count);
    this.totals.sent += count;
    this.socket.write(this.lines.batch(first, count));
  }

  private recordLatency(seq: number): void {
    const totals = this.totals;
    totals.ok++;
    if (!totals.measuring) return;
    totals.okInWindow++;
    const latencyUs = Math.round((performance.now() - this.sentAt[seq % this.pipeline]!) * 1000);
    const clamped = Math.min(Math.max(latencyUs, 1), MAX_LATENCY_US);
    totals.histogram.recordValue(clamped);
    totals.interval.recordValue(clamped);
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    const answered = this.checker.receive(chunk);
    // Top the window up with one write, as the C loadgen does after every read.
    if (!this.totals.stopping) this.send(answered);
    this.checkIdle();
  }
}

function connectOne(target: Endpoint): Promise<net.Socket> {
  // No timeout of our own (a burst of connects may wait on the accept queue), and the
  // system's error, which the run counts and puts into the same words as `connect`.
  return openConnection(target, { timeoutMs: 0 }).catch((error: Error) => Promise.reject(error.cause ?? error));
}

/** The shortest last stretch of a run that still gets a sample of its own. */
const FINAL_SAMPLE_MIN_MS = 500;

/** Runs one benchmark; resolves with the result (it does not throw on bad replies, it counts them). */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const totals = newTotals();
  const endpoint = new Endpoint(options.host, options.port);
  const connections = await openConnections(endpoint, options, totals);
  await options.beforeStart?.();
  const elapsedMs = await measure(connections, options, totals);
  await settle(connections);
  options.onHistogram?.(totals.histogram);
  return benchResult(String(endpoint), options, totals, elapsedMs);
}

function newTotals(): Totals {
  return {
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
}

/**
 * Opens every connection at once. Those that fail are counted; when none
 * opens, the run fails with the line `name-echo connect` prints for the
 * same failure.
 */
async function openConnections(endpoint: Endpoint, options: BenchOptions, totals: Totals): Promise<BenchConnection[]> {
  const encoder = new ReplyEncoder(options.name);
  const connections: BenchConnection[] = [];
  const settled = await Promise.allSettled(Array.from({ length: options.clients }, () => connectOne(endpoint)));
  let connectError: unknown;
  settled.forEach((outcome, index) => {
    if (outcome.status === "fulfilled") {
      connections.push(new BenchConnection(outcome.value, (options.firstClient ?? 0) + index, options, encoder, totals));
    } else {
      totals.connectErrors++;
      connectError ??= outcome.reason;
    }
  });
  if (connections.length === 0) {
    const target = String(endpoint);
    const explained = explainClientError(connectError, target);
    throw explained instanceof NameEchoError
      ? explained
      : new NameEchoError("ERR_CONNECTION_REFUSED", `cannot connect to ${target}: ${describeConnectionError(connectError)}`, { cause: connectError });
  }
  if (connectError !== undefined) {
    totals.firstError ||= `${totals.connectErrors} of ${options.clients} connects failed: ${describeConnectionError(connectError)}`;
  }
  return connections;
}

/** The measured window: every connection sends for the duration; resolves with its length in ms. */
async function measure(connections: readonly BenchConnection[], options: BenchOptions, totals: Totals): Promise<number> {
  const started = performance.now();
  totals.measuring = true;
  for (const connection of connections) connection.start();
  const progress = options.onProgress ? new ProgressSampler(options.onProgress, totals, started) : null;
  await new Promise((resolve) => setTimeout(resolve, options.durationSeconds * 1000));
  const elapsedMs = performance.now() - started;
  totals.measuring = false;
  totals.stopping = true;
  progress?.end(started + elapsedMs);
  return elapsedMs;
}

/** Lets the replies already owed arrive (bounded), then counts what is missing. */
async function settle(connections: readonly BenchConnection[]): Promise<void> {
  let graceTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(connections.map((connection) => connection.whenIdle())),
    new Promise((resolve) => (graceTimer = setTimeout(resolve, GRACE_MS))),
  ]);
  clearTimeout(graceTimer);
  for (const connection of connections) connection.finish();
}

function benchResult(target: string, options: BenchOptions, totals: Totals, elapsedMs: number): BenchResult {
  return {
    target,
    clients: options.clients,
    pipeline: options.pipeline,
    lineBytes: options.lineBytes,
    durationSeconds: Math.round(elapsedMs) / 1000,
    repliesOk: totals.okInWindow,
    repliesPerSecond: Math.round((totals.okInWindow * 1000) / elapsedMs),
    repliesOkTotal: totals.ok,
    linesSent: totals.sent,
    errors: errorCount(totals),
    badReplies: totals.bad,
    lost: totals.lost,
    unexpectedBytes: totals.unexpected,
    connectionErrors: totals.connErrors,
    connectErrors: totals.connectErrors,
    firstError: totals.firstError,
    latencyUs: latencySummary(totals.histogram),
  };
}

/** The progress callback once a second: the rate and latencies since the previous sample. */
class ProgressSampler {
  private readonly report: (progress: BenchProgress) => void;
  private readonly totals: Totals;
  private readonly started: number;
  private lastOk = 0;
  private lastTick: number;
  private readonly ticker: NodeJS.Timeout;

  constructor(report: (progress: BenchProgress) => void, totals: Totals, started: number) {
    this.report = report;
    this.totals = totals;
    this.started = started;
    this.lastTick = started;
    this.ticker = setInterval(() => this.sample(performance.now()), 1000);
  }

  /**
   * The run ended at `end`. The interval drifts a little later each tick, so
   * the run's end comes before the tick due at the same moment: the last
   * second gets its sample here. A sliver after the last tick (a 2.2 s run's
   * 0.2 s) is too short to be a rate and gets none.
   */
  end(end: number): void {
    clearInterval(this.ticker);
    if (end - this.lastTick >= FINAL_SAMPLE_MIN_MS) this.sample(end);
  }

  private sample(now: number): void {
    const totals = this.totals;
    this.report({
      elapsedSeconds: (now - this.started) / 1000,
      repliesOk: totals.okInWindow,
      rate: ((totals.okInWindow - this.lastOk) * 1000) / (now - this.lastTick),
      p50Us: totals.interval.getValueAtPercentile(50),
      p99Us: totals.interval.getValueAtPercentile(99),
      errors: errorCount(totals),
    });
    this.lastOk = totals.okInWindow;
    this.lastTick = now;
    totals.interval.reset();
  }
}

/** The percentiles a result reports, from a latency histogram in µs (all 0 when it is empty). */
export function latencySummary(h: Histogram): LatencySummary {
  const empty = h.totalCount === 0;
  return {
    p50: empty ? 0 : h.getValueAtPercentile(50),
    p90: empty ? 0 : h.getValueAtPercentile(90),
    p99: empty ? 0 : h.getValueAtPercentile(99),
    p999: empty ? 0 : h.getValueAtPercentile(99.9),
    max: empty ? 0 : h.maxValue,
    mean: empty ? 0 : Math.round(h.mean),
  };
}
