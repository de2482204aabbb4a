/**
 * Every message between `serve --workers`'s primary and its workers over the
 * cluster IPC channel, in one vocabulary: an object whose `nameEcho` says
 * what it is. The workers' lifecycle (cli/workers.ts) and the HTTP port's
 * questions (ops/cluster-http.ts) share it, so neither can take the other's
 * message for its own. prom-client's requests for /metrics pass on the same
 * channel under a key of its own.
 */
import type { ServerStatus } from "./ops/status.js";
import type { ConnectionList } from "./ops/view.js";

/** What the primary asks a worker about its server, for the HTTP port. */
export type WorkerQuestion = "connections" | "status";

export type ToWorker =
  /** Stop gracefully, as SIGTERM would. */
  | { nameEcho: "stop" }
  /** Drop every client now: the second stop. */
  | { nameEcho: "drop" }
  | { nameEcho: "ask"; id: number; what: WorkerQuestion; limit?: number };

export type FromWorker =
  /** The worker's server listens: where, with which name and transport. */
  | { nameEcho: "listening"; where: string; name: string; transport: string }
  | { nameEcho: "answer"; id: number; connections?: ConnectionList; status?: ServerStatus }
  /** Clients came or went (at most every 200 ms): the page may want to ask again. */
  | { nameEcho: "changed" };

/** `message` is one of ours and of this kind; anything else on the channel is not. */
export function isMessage<K extends (ToWorker | FromWorker)["nameEcho"]>(
  message: unknown,
  kind: K,
): message is Extract<ToWorker | FromWorker, { nameEcho: K }> {
  return typeof message === "object" && message !== null && (message as { nameEcho?: unknown }).nameEcho === kind;
}
