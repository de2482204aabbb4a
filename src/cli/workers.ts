/**
 * `serve --workers N`: N processes that share one listening port (node:cluster),
 * stopped together.
 *
 * The primary only supervises: it forks the workers (each runs the same
 * `serve` command line), prints one "listening" line when all of them listen,
 * and turns SIGINT/SIGTERM (and Esc, through stop()) into one graceful stop
 * for all: it tells every worker to close, waits for them, and exits. The
 * workers ignore the terminal: their stdin is not the terminal (so they never
 * watch for Esc), and they ignore SIGINT, which Ctrl-C sends to the whole
 * foreground process group; only the primary decides when to stop.
 *
 * How the workers share the port (`--balance`):
 *   - reuseport: each worker listens on its own socket with SO_REUSEPORT and
 *     the kernel spreads new connections over the sockets by a hash of their
 *     addresses (nginx's `listen … reuseport`). No process in between, no
 *     shared accept queue, the primary holds no client. Node 22.12+/23.1+
 *     on Linux and a few BSDs.
 *   - shared: the primary hands its one listening socket to every worker and
 *     they all accept() from it (cluster's SCHED_NONE). No process in
 *     between either, but one accept queue for all, and the kernel wakes
 *     the workers as it likes.
 *   - round-robin: the primary accepts every connection and passes it to a
 *     worker over IPC (cluster's SCHED_RR). Even spread, but each accept
 *     costs the primary an IPC message and a descriptor pass, and it holds
 *     every connection until a worker has taken it.
 *   - auto (the default): reuseport where this Node has it, else shared.
 * In a cluster worker, node:net turns listen({ reusePort: true }) into an
 * exclusive listen (lib/net.js, the same in 22.12, 22.23, 24.21 and 26.10):
 * the worker binds a socket of its own and never asks the primary, so
 * cluster's scheduling policy plays no part in reuseport.
 * docs/performance.md has what each one costs.
 */
import cluster, { type Worker } from "node:cluster";
import * as net from "node:net";
import { isMessage, type FromWorker, type ToWorker } from "../cluster-messages.js";
import { explainListenError } from "../errors.js";
import type { BALANCE_CHOICES } from "../options.js";
import type { NameEchoServer, NameEchoServerOptions } from "../server/server.js";
import { reusePortUnavailable } from "../server/reuse-port.js";
import { usageError } from "./args.js";
import { openFdCount, softFdLimit } from "../server/fd-budget.js";
import type { Logger } from "./log.js";
import { onStopSignals, twoStageStop } from "./stop.js";
import { WarningThrottle } from "./warning-throttle.js";

/** What --balance takes (its row in options.ts): a mode, auto, or kernel (the name shared had before). */
export type BalanceChoice = (typeof BALANCE_CHOICES)[number];

/** How the workers share the port, as run. */
export type Balance = Exclude<BalanceChoice, "auto" | "kernel">;

/** The mode in effect and why, as the start-up line says it. */
export interface BalanceDecision {
  mode: Balance;
  why: string;
}

/** The mode `asked` means on this Node; reuseport where it cannot be is a usage error naming the alternative. */
export function decideBalance(asked: BalanceChoice, flag = "--balance"): BalanceDecision {
  const unavailable = reusePortUnavailable();
  switch (asked) {
    case "auto":
      return unavailable === null
        ? { mode: "reuseport", why: `auto: Node ${process.versions.node} has reusePort` }
        : { mode: "shared", why: `auto: ${unavailable}` };
    case "reuseport":
      if (unavailable !== null) throw usageError(`${flag} reuseport cannot be used here: ${unavailable}; use ${flag} shared (or auto)`);
      return { mode: "reuseport", why: "as asked" };
    case "kernel":
      return { mode: "shared", why: "as asked (kernel is shared's old name)" };
    default:
      return { mode: asked, why: "as asked" };
  }
}

/** The environment variables a worker learns its way of listening from. */
const WORKER_BALANCE_VARIABLE = "NAME_ECHO_WORKER_BALANCE";
const WORKER_PORT_VARIABLE = "NAME_ECHO_WORKER_PORT";

/**
 * Before the first fork with reuseport: binds host:port once in the primary,
 * without SO_REUSEPORT, and lets it go. That turns port 0 into the one port
 * every worker (and every replacement) then joins, and a port already in use
 * (by anyone, including another name-echo listening with SO_REUSEPORT, which
 * the workers would otherwise join without a word) into the usual error.
 * Resolves with what the workers need in their environment.
 */
export async function prepareWorkerListening(mode: Balance, host: string, port: number): Promise<Record<string, string>> {
  const environment = { [WORKER_BALANCE_VARIABLE]: mode };
  if (mode !== "reuseport") return environment;
  const probe = net.createServer();
  const bound = await new Promise<number>((resolve, reject) => {
    probe.once("error", (error) => reject(explainListenError(error, host, port)));
    try {
      probe.listen({ host, port, exclusive: true }, () => resolve((probe.address() as net.AddressInfo).port));
    } catch (error) {
      reject(explainListenError(error, host, port));
    }
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return { ...environment, [WORKER_PORT_VARIABLE]: String(bound) };
}

/** In a worker: how its server listens (with reuseport, on the port the primary chose, with SO_REUSEPORT). */
export function workerListenOptions(): Pick<NameEchoServerOptions, "port" | "reusePort"> {
  if (process.env[WORKER_BALANCE_VARIABLE] !== "reuseport") return {};
  return { port: Number(process.env[WORKER_PORT_VARIABLE]), reusePort: true };
}

/** True in a process forked by runPrimary(). */
export function isWorker(): boolean {
  return cluster.isWorker && process.env.NAME_ECHO_WORKER === "1";
}

export interface PrimaryOptions {
  workers: number;
  balance: Balance;
  /** Given to every worker (prepareWorkerListening()). */
  workerEnvironment: Record<string, string>;
  log: Logger;
  /** Seconds a graceful stop may take in a worker (its --shutdown-timeout); the primary waits a little longer. */
  shutdownTimeout: number;
  /** Prints the one "listening" line; given the address, name and transport the workers report. */
  announce: (where: string, name: string, transport: string) => void;
}

/**
 * Runs the supervising process. Resolves with the exit code once every
 * worker has exited: 0 after a requested stop, 1 if workers failed to start.
 * The returned `stop` is what Esc calls in the primary.
 */
export function runPrimary(options: PrimaryOptions): { done: Promise<number>; stop: (why: string) => void } {
  const primary = new Primary(options);
  return { done: primary.done, stop: primary.stopper.stop };
}

/** Seconds the primary gives a stopping worker beyond its own shutdown timeout before killing it. */
const KILL_GRACE_SECONDS = 5;

/** The supervisor: forks the workers, replaces one that dies, and stops them all, once or at once. */
class Primary {
  readonly done: Promise<number>;
  /** Ctrl-C, SIGTERM and Esc: a graceful stop of every worker, then (asked again) their clients dropped. */
  readonly stopper = twoStageStop(
    (why) => this.stopWorkers(why),
    (why) => this.dropClients(why),
  );
  private readonly options: PrimaryOptions;
  private readonly log: Logger;
  private readonly workers = new Set<Worker>();
  private listening = 0;
  private announced = false;
  private dropping = false;
  private failed = false;
  private killTimer: NodeJS.Timeout | undefined;
  private resolveDone!: (code: number) => void;
  private readonly stopSignals: () => void;
  private readonly stopWatchingDescriptors: () => void;

  constructor(options: PrimaryOptions) {
    this.options = options;
    this.log = options.log;
    this.done = new Promise<number>((resolve) => (this.resolveDone = resolve));
    // Must be set before the first fork; it is final afterwards.
    // With reuseport the workers listen on their own (an exclusive listen never asks the primary); SCHED_NONE covers anything else they might listen on.
    cluster.schedulingPolicy = options.balance === "round-robin" ? cluster.SCHED_RR : cluster.SCHED_NONE;
    // stdin "ignore": a worker must never see the terminal (no Esc, no raw mode);
    // stdout/stderr are shared so every worker's log reaches the operator.
    cluster.setupPrimary({ stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.stopSignals = onStopSignals(this.stopper.stop);
    // Only round-robin has the primary hold connections (until a worker takes each).
    this.stopWatchingDescriptors = options.balance === "round-robin" ? watchPrimaryDescriptors(this.log) : () => {};
    for (let i = 0; i < options.workers; i++) this.fork();
  }

  private send(message: ToWorker): void {
    for (const worker of this.workers) {
      if (worker.isConnected()) worker.send(message);
    }
  }

  private stopWorkers(why: string): void {
    this.log.info(`${why}: stopping ${this.workers.size} worker(s)`);
    this.send({ nameEcho: "stop" });
    // A worker stuck past its own shutdown timeout is killed, so the stop is bounded.
    this.killTimer = setTimeout(
      () => {
        for (const worker of this.workers) {
          this.log.warn(`worker ${worker.process.pid} did not stop in time; killing it`);
          worker.process.kill("SIGKILL");
        }
      },
      (this.options.shutdownTimeout + KILL_GRACE_SECONDS) * 1000,
    );
    this.killTimer.unref();
  }

  private dropClients(why: string): void {
    this.dropping = true;
    this.log.warn(`${why} again: dropping the clients of ${this.workers.size} worker(s) now`);
    this.send({ nameEcho: "drop" });
  }

  private fork(): void {
    const worker = cluster.fork({ ...this.options.workerEnvironment, NAME_ECHO_WORKER: "1" });
    this.workers.add(worker);
    worker.on("message", (message: unknown) => {
      if (isMessage(message, "listening")) this.onListening(worker, message);
    });
    worker.on("exit", (code, signal) => this.onExit(worker, code, signal));
    worker.on("error", (error: NodeJS.ErrnoException) => this.onError(worker, error));
  }

  private onListening(worker: Worker, message: Extract<FromWorker, { nameEcho: "listening" }>): void {
    // A worker still starting when the stop was sent (a replacement, say) had nobody listening for it: tell it again.
    if (this.stopper.stopping) worker.send({ nameEcho: this.dropping ? "drop" : "stop" } satisfies ToWorker);
    this.listening++;
    if (!this.announced && this.listening === this.options.workers) {
      this.announced = true;
      this.options.announce(message.where, message.name, message.transport);
    }
  }

  private onExit(worker: Worker, code: number, signal: string): void {
    this.workers.delete(worker);
    if (!this.stopper.stopping) {
      // A worker that dies before all have listened cannot be fixed by
      // trying again (bad port, port in use: it already said why).
      if (!this.announced) {
        this.failed = true;
        this.stopper.stop("a worker failed to start");
      } else {
        this.log.warn(`worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
        this.fork();
      }
    }
    this.finishIfNoneLeft();
  }

  private onError(worker: Worker, error: NodeJS.ErrnoException): void {
    // A fork that failed (EMFILE: the primary is out of descriptors, with
    // connections queued for the workers) has no process and never exits:
    // forget it and try again shortly, rather than crash the primary.
    if (worker.process.pid !== undefined) {
      this.log.warn(`worker ${worker.process.pid}: ${error.message}`, { event: "warning" });
      return;
    }
    this.workers.delete(worker);
    this.log.warn(`could not start a worker (${error.code ?? error.message}); trying again in 1 s`, { event: "warning" });
    if (!this.stopper.stopping) setTimeout(() => this.stopper.stopping || this.fork(), 1000);
    this.finishIfNoneLeft();
  }

  private finishIfNoneLeft(): void {
    if (this.workers.size > 0) return;
    clearTimeout(this.killTimer);
    this.stopSignals();
    this.stopWatchingDescriptors();
    this.log.info("stopped");
    this.resolveDone(this.failed ? 1 : 0);
  }
}

/** How often the primary counts its descriptors, and the share of its limit in use that it warns about. */
const DESCRIPTOR_CHECK_MS = 250;
const DESCRIPTOR_WARN_SHARE = 0.5;

/**
 * With round-robin balancing the primary accepts every connection and holds
 * its descriptor until a worker has taken it over IPC (one hand-off per
 * worker at a time). A burst that arrives faster than the hand-offs queues
 * up in the primary (8,000 connects at once: up to 6,177 descriptors held,
 * measured), and node:cluster offers no way to pause its accepting. So the
 * primary counts its descriptors (Linux, /proc/self/fd) four times a
 * second and, past half its limit, tells the operator (once per 10 s), who
 * can raise `ulimit -n` or use another `--balance`; at the limit itself
 * libuv closes new connections at once until the queue drains, and a
 * worker that must be replaced meanwhile is forked again a second later
 * (see runPrimary). Returns a function that stops watching.
 */
function watchPrimaryDescriptors(log: Logger): () => void {
  const limit = softFdLimit();
  if (limit === null || openFdCount() === null) return () => {};
  const warnings = new WarningThrottle((message) => log.warn(message, { event: "warning", kind: "primary-descriptors" }));
  const timer = setInterval(() => {
    const open = openFdCount();
    if (open !== null && open > limit * DESCRIPTOR_WARN_SHARE) {
      warnings.warn(
        "primary descriptors",
        `the primary holds ${open.toLocaleString("en-US")} of its ${limit.toLocaleString("en-US")} file descriptors: connections arrive faster than the workers take them (raise ulimit -n, or use --balance auto)`,
      );
    }
  }, DESCRIPTOR_CHECK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    warnings.flush();
  };
}

/**
 * A worker whose server could not listen: leave the IPC channel (which would
 * keep the process alive) and pass the error on, to be reported and exit.
 */
export function leaveCluster(error: unknown): never {
  if (isWorker() && process.connected) process.disconnect();
  throw error;
}

/**
 * Runs inside a worker once its server listens: reports to the primary and
 * waits for its word to stop. Resolves with the exit code.
 */
export function runWorker(server: NameEchoServer, where: string, log: Logger): Promise<number> {
  // Ctrl-C reaches every process of the foreground group; the primary turns
  // it into a "stop" message, so the worker itself ignores it.
  process.on("SIGINT", () => {});
  process.send?.({ nameEcho: "listening", where, name: server.options.name, transport: server.transport } satisfies FromWorker);
  return new Promise<number>((resolve) => {
    let closing = false;
    const close = (): void => {
      if (closing) return;
      closing = true;
      void server.close().then(() => {
        process.off("message", onMessage);
        process.off("SIGTERM", close);
        // Leaving the IPC channel lets the process exit by itself.
        if (process.connected) process.disconnect();
        resolve(0);
      });
    };
    const onMessage = (message: unknown): void => {
      if (isMessage(message, "stop")) close();
      else if (isMessage(message, "drop")) {
        close();
        void server.destroy();
      }
    };
    process.on("message", onMessage);
    // SIGTERM sent to this worker alone (or to the whole group by a service
    // manager) is a graceful stop of this worker.
    process.on("SIGTERM", close);
    onPrimaryGone(() => {
      // Our own process.disconnect() at the end of a stop lands here too, with the stop under way.
      if (closing) return;
      log.warn("the primary process is gone; stopping", { event: "primary-gone" });
      close();
    });
  });
}

/**
 * The primary is gone (kill -9, the OOM killer): its end of the IPC channel
 * closes. Serving on unsupervised would leave nobody to stop this worker, so
 * the caller stops it the way SIGTERM does: every client gets the closing
 * notice, then close, exit, within --shutdown-timeout.
 *
 * Left to itself, node:cluster calls process.exit(0) in a worker on any
 * disconnect it did not ask for, dropping every client without a word;
 * `exitedAfterDisconnect = true` is the documented way to say a disconnect
 * is expected, and leaves the stop to us.
 */
function onPrimaryGone(stop: () => void): void {
  if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
  process.once("disconnect", stop);
}
