/**
 * `name-echo bench --processes N`: the same run made by N processes, so the
 * load generator is not the one core that limits what a many-core server is
 * shown to do. Each process opens its share of the connections (numbered on
 * from the previous one's, so every line stays unique), all start sending at
 * one signal, and the results are merged: counts summed, latency histograms
 * added (a percentile of the merged histogram is the percentile of every
 * reply, which an average of the processes' percentiles is not).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import hdr from "hdr-histogram-js";
import { NameEchoError, type NameEchoErrorCode } from "../errors.js";
import { latencySummary, newHistogram, type BenchOptions, type BenchProgress, type BenchResult } from "./load.js";

/** What a load process is given: the run's options for its share, without the callbacks. */
export type ProcessShare = Omit<BenchOptions, "onProgress" | "onHistogram" | "beforeStart">;

export type ToLoadProcess = { kind: "run"; share: ProcessShare; progress: boolean } | { kind: "go" };
export type FromLoadProcess =
  | { kind: "ready" }
  | { kind: "progress"; progress: BenchProgress }
  | { kind: "done"; result: BenchResult; histogram: string }
  | { kind: "failed"; code: string; message: string };

/** `clients` connections dealt out over `processes`: the first ones take one more when it does not divide. */
export function shares(options: BenchOptions, processes: number): ProcessShare[] {
  const { onProgress: _p, onHistogram: _h, beforeStart: _b, ...plain } = options;
  const base = Math.floor(options.clients / processes);
  const extra = options.clients % processes;
  const result: ProcessShare[] = [];
  let firstClient = options.firstClient ?? 0;
  for (let i = 0; i < processes; i++) {
    const clients = base + (i < extra ? 1 : 0);
    result.push({ ...plain, clients, firstClient });
    firstClient += clients;
  }
  return result;
}

/** Runs the benchmark in `processes` child processes and merges their results. */
export async function runBenchInProcesses(options: BenchOptions, processes: number): Promise<BenchResult> {
  if (processes > options.clients) {
    throw new NameEchoError("ERR_INVALID_OPTION", `${processes} processes is more than ${options.clients} clients: every process needs a connection`);
  }
  const children: ChildProcess[] = [];
  const entry = fileURLToPath(new URL("./load-process.js", import.meta.url));
  const latest: Array<BenchProgress | undefined> = [];
  let ticker: NodeJS.Timeout | undefined;
  try {
    const ready: Array<Promise<void>> = [];
    const done: Array<Promise<{ result: BenchResult; histogram: string }>> = [];
    for (const [index, share] of shares(options, processes).entries()) {
      // Flags of this process (a test runner's) are not the load process's business.
      const child = fork(entry, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv: [] });
      children.push(child);
      let onReady!: () => void;
      ready.push(new Promise((resolve) => (onReady = resolve)));
      done.push(
        new Promise((resolve, reject) => {
          child.on("message", (message: FromLoadProcess) => {
            if (message.kind === "ready") onReady();
            else if (message.kind === "progress") latest[index] = message.progress;
            else if (message.kind === "done") resolve(message);
            // A NameEchoError (refused, say) keeps its code; anything else is a bug of the load process.
            else if (message.kind === "failed")
              reject(message.code === "" ? new Error(message.message) : new NameEchoError(message.code as NameEchoErrorCode, message.message));
          });
          child.once("exit", (code, signal) =>
            reject(new Error(`load process ${index + 1} of ${processes} exited (${signal ?? `code ${code}`}) before its result`)),
          );
          child.once("error", reject);
        }),
      );
      child.send({ kind: "run", share, progress: options.onProgress !== undefined } satisfies ToLoadProcess);
    }
    // A process that fails while connecting settles its `done` first.
    await Promise.race([Promise.all(ready), Promise.all(done)]);
    for (const child of children) child.send({ kind: "go" } satisfies ToLoadProcess);
    const progress = options.onProgress;
    if (progress) ticker = setInterval(() => progress(sumProgress(latest)), 1000);
    const outcomes = await Promise.all(done);
    return merge(outcomes, options);
  } finally {
    clearInterval(ticker);
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

/** The live line for several processes: rates and counts summed; p50 and p99 are the highest of the processes'. */
function sumProgress(latest: ReadonlyArray<BenchProgress | undefined>): BenchProgress {
  const sum: BenchProgress = { elapsedSeconds: 0, repliesOk: 0, rate: 0, p50Us: 0, p99Us: 0, errors: 0 };
  for (const p of latest) {
    if (p === undefined) continue;
    sum.elapsedSeconds = Math.max(sum.elapsedSeconds, p.elapsedSeconds);
    sum.repliesOk += p.repliesOk;
    sum.rate += p.rate;
    sum.p50Us = Math.max(sum.p50Us, p.p50Us);
    sum.p99Us = Math.max(sum.p99Us, p.p99Us);
    sum.errors += p.errors;
  }
  return sum;
}

function merge(outcomes: ReadonlyArray<{ result: BenchResult; histogram: string }>, options: BenchOptions): BenchResult {
  const histogram = newHistogram();
  for (const outcome of outcomes) histogram.add(hdr.decodeFromCompressedBase64(outcome.histogram));
  options.onHistogram?.(histogram);
  const results = outcomes.map((outcome) => outcome.result);
  const total = (field: keyof BenchResult): number => results.reduce((sum, r) => sum + (r[field] as number), 0);
  // The processes' windows start at one signal and last as long; the longest is the run's.
  const durationSeconds = Math.max(...results.map((r) => r.durationSeconds));
  const repliesOk = total("repliesOk");
  return {
    target: results[0]!.target,
    clients: total("clients"),
    pipeline: options.pipeline,
    lineBytes: options.lineBytes,
    durationSeconds,
    repliesOk,
    repliesPerSecond: Math.round(repliesOk / durationSeconds),
    repliesOkTotal: total("repliesOkTotal"),
    linesSent: total("linesSent"),
    errors: total("errors"),
    badReplies: total("badReplies"),
    lost: total("lost"),
    unexpectedBytes: total("unexpectedBytes"),
    connectionErrors: total("connectionErrors"),
    connectErrors: total("connectErrors"),
    firstError: results.find((r) => r.firstError !== "")?.firstError ?? "",
    latencyUs: latencySummary(histogram),
    processes: results.length,
    repliesOkPerProcess: results.map((r) => r.repliesOk),
  };
}
