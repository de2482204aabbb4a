/**
 * The HTTP port with `serve --workers N`: the primary serves it for all the
 * workers, since none of them alone knows the whole picture.
 *
 *   /metrics      prom-client's AggregatorRegistry: the primary asks every
 *                 worker for its registry over the cluster IPC channel and
 *                 sums them (each metric says how: `aggregator`).
 *   /connections  the primary asks every worker for its list and joins them
 *   /status, /    (each row says which worker serves it); totals are summed.
 *
 * Workers answer within ASK_TIMEOUT_MS or are left out of that answer (one
 * being restarted, say). A worker tells the primary when clients come or go,
 * at most every CHANGE_NOTICE_MS, so the page updates at once without one
 * IPC message per connect under a storm of them.
 */
import cluster, { type Worker } from "node:cluster";
import { isMessage, type FromWorker, type ToWorker, type WorkerQuestion } from "../cluster-messages.js";
import type { NameEchoServer } from "../server/server.js";
import type { ConnectionInfo } from "./connections.js";
import { OpsHttpServer } from "./http-server.js";
import { instrumentServer } from "./metrics.js";
import { AggregatorRegistry } from "prom-client";
import type { ServerStatus, Totals } from "./status.js";
import { LocalView, type ConnectionList, type OpsView } from "./view.js";

const ASK_TIMEOUT_MS = 2000;
const CHANGE_NOTICE_MS = 200;

type OpsAnswer = Extract<FromWorker, { nameEcho: "answer" }>;

/**
 * In a worker: answer the primary's questions about this worker's server,
 * and register its metrics for AggregatorRegistry.
 */
export function answerPrimary(server: NameEchoServer): void {
  const view = new LocalView(server);
  const registry = instrumentServer(server, { counters: view.counters });
  // Installs prom-client's own answering of the primary's metrics requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);

  process.on("message", (message: unknown) => {
    if (!isMessage(message, "ask")) return;
    const { id, what, limit } = message;
    const answer = async (): Promise<OpsAnswer> =>
      what === "connections"
        ? { nameEcho: "answer", id, connections: await view.connections(limit) }
        : { nameEcho: "answer", id, status: await view.status() };
    void answer().then((reply) => {
      if (process.connected) process.send?.(reply);
    });
  });

  let noticePending: NodeJS.Timeout | null = null;
  view.onChange(() => {
    if (noticePending !== null) return;
    noticePending = setTimeout(() => {
      noticePending = null;
      if (process.connected) process.send?.({ nameEcho: "changed" } satisfies FromWorker);
    }, CHANGE_NOTICE_MS);
    noticePending.unref();
  });
}

/** In the primary: every worker's server, seen as one. */
export class ClusterView implements OpsView {
  private readonly aggregator = new AggregatorRegistry();
  private readonly startedAt = Date.now();
  private nextId = 1;
  private readonly pending = new Map<number, { answers: Array<{ worker: Worker; answer: OpsAnswer }>; waiting: number; done: () => void }>();
  private readonly changeListeners = new Set<() => void>();
  private readonly onMessage = (worker: Worker, message: unknown): void => {
    if (isMessage(message, "changed")) {
      for (const listener of this.changeListeners) listener();
      return;
    }
    if (!isMessage(message, "answer")) return;
    const request = this.pending.get(message.id);
    if (request === undefined) return; // too late: that answer was given without it
    request.answers.push({ worker, answer: message });
    if (--request.waiting === 0) request.done();
  };

  constructor() {
    cluster.on("message", this.onMessage);
  }

  close(): void {
    cluster.off("message", this.onMessage);
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.aggregator.contentType, body: await this.aggregator.clusterMetrics() };
  }

  async connections(limit?: number): Promise<ConnectionList> {
    const answers = await this.ask("connections", limit);
    const connections: ConnectionInfo[] = [];
    let total = 0;
    for (const { worker, answer } of answers.sort((a, b) => a.worker.id - b.worker.id)) {
      if (!answer.connections) continue;
      total += answer.connections.total;
      for (const info of answer.connections.connections) connections.push({ ...info, worker: worker.id });
    }
    connections.sort((a, b) => b.connectedForMs - a.connectedForMs);
    return { connections: limit === undefined ? connections : connections.slice(0, limit), total };
  }

  async status(): Promise<ServerStatus> {
    const statuses = (await this.ask("status")).flatMap(({ answer }) => (answer.status ? [answer.status] : []));
    const first = statuses[0];
    if (first === undefined) throw new Error("no worker answered");
    const totals: Totals = { connectionsOpen: 0, connectionsTotal: 0, lines: 0, bytesIn: 0, bytesOut: 0, linesTooLong: 0, rejections: {} };
    for (const { totals: t } of statuses) {
      totals.connectionsOpen += t.connectionsOpen;
      totals.connectionsTotal += t.connectionsTotal;
      totals.lines += t.lines;
      totals.bytesIn += t.bytesIn;
      totals.bytesOut += t.bytesOut;
      totals.linesTooLong += t.linesTooLong;
      for (const [kind, count] of Object.entries(t.rejections)) totals.rejections[kind] = (totals.rejections[kind] ?? 0) + count;
    }
    const states = new Set(statuses.map((s) => s.state));
    return {
      ...first,
      state: states.size === 1 ? first.state : [...states].join("/"),
      workers: statuses.length,
      startedAt: this.startedAt,
      uptimeMs: Date.now() - this.startedAt,
      totals,
    };
  }

  async readiness(): Promise<{ ready: boolean; state: string }> {
    const expected = this.workers().length;
    const statuses = (await this.ask("status")).flatMap(({ answer }) => (answer.status ? [answer.status] : []));
    const listening = statuses.filter((s) => s.state === "listening").length;
    const ready = expected > 0 && listening === expected;
    return { ready, state: ready ? "listening" : `${listening} of ${expected} worker(s) listening` };
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private workers(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && worker.isConnected());
  }

  /** Asks every connected worker; resolves with the answers that came within ASK_TIMEOUT_MS. */
  private ask(what: WorkerQuestion, limit?: number): Promise<Array<{ worker: Worker; answer: OpsAnswer }>> {
    const workers = this.workers();
    if (workers.length === 0) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const answers: Array<{ worker: Worker; answer: OpsAnswer }> = [];
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(answers);
      };
      const timer = setTimeout(finish, ASK_TIMEOUT_MS);
      this.pending.set(id, { answers, waiting: workers.length, done: finish });
      const request: ToWorker = { nameEcho: "ask", id, what, ...(limit === undefined ? {} : { limit }) };
      const entry = this.pending.get(id)!;
      for (const worker of workers) {
        try {
          worker.send(request);
        } catch {
          // Its channel closed just now (exiting): do not wait for it.
          if (--entry.waiting === 0) finish();
        }
      }
    });
  }
}

/** The primary's HTTP port for all workers. */
export class ClusterHttpServer extends OpsHttpServer {
  private readonly clusterView: ClusterView;

  constructor(options: { host: string; port: number }) {
    const view = new ClusterView();
    super(view, options);
    this.clusterView = view;
  }

  override async close(): Promise<void> {
    await super.close();
    this.clusterView.close();
  }
}
