/**
 * NameEchoServer: listens, keeps the set of connections, enforces the
 * connection limit, and stops either gracefully (close) or at once (destroy).
 * The lifecycle is drawn in docs/lifecycle.md.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import { Endpoint } from "../endpoint.js";
import { explainListenError, NameEchoError } from "../errors.js";
import { FdBudget } from "./fd-budget.js";
import {
  DEFAULTS,
  validateHost,
  validateInteger,
  validateName,
  validatePort,
  validateSeconds,
} from "../options.js";
import { ReplyEncoder } from "../protocol/reply.js";
import { TcpConnection } from "./connection.js";
import { outOfDescriptorsNotice, serverFullNotice, SHUTDOWN_NOTICE } from "./notices.js";

export interface NameEchoServerOptions {
  /** Address to listen on. Default 127.0.0.1 (loopback only); "0.0.0.0" or "::" opens it to the network. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 8888. */
  port?: number;
  /** The name added to every line. Default "Ali". */
  name?: string;
  /** Longest accepted line in bytes. Default 8192. */
  maxLineLength?: number;
  /** Most clients at once; more are told and closed. Default 10,000. */
  maxConnections?: number;
  /** Seconds without input before a client is told and closed; 0 = never. Default 300. */
  idleTimeout?: number;
  /** Seconds close() waits for clients before dropping them. Default 10. */
  shutdownTimeout?: number;
  /** Unsent reply bytes per client before the server stops reading from it. Default 1 MiB. */
  maxUnsentBytes?: number;
  /** Listen backlog (kernel accept queue). Default 4096. */
  backlog?: number;
}

export type ResolvedServerOptions = Required<NameEchoServerOptions>;

export interface ListeningAddress {
  address: string;
  port: number;
  family: string;
}

export type ServerState = "new" | "listening" | "closing" | "closed";

export interface NameEchoServerEvents {
  listening: [address: ListeningAddress];
  connection: [connection: TcpConnection];
  disconnect: [connection: TcpConnection, error: Error | undefined];
  /** A client was turned away, after being told why. */
  rejected: [remote: Endpoint, reason: RejectReason];
  /**
   * A problem that did not stop the server: accept() failed, or the process
   * is about to run out of file descriptors (code ERR_OUT_OF_FILE_DESCRIPTORS,
   * emitted once when it starts turning clients away).
   */
  warning: [error: Error];
  /** Descriptors are free again: new clients are accepted; `turnedAway` were refused meanwhile. */
  recovered: [reason: "file-descriptors", turnedAway: number];
  close: [];
}

/** Why a client was turned away: the --max-connections limit, or the process is out of file descriptors. */
export type RejectReason = "max-connections" | "file-descriptors";

/** How long a turned-away client may take to read its notice before it is dropped. */
const REJECT_LINGER_MS = 5000;

export function resolveServerOptions(options: NameEchoServerOptions = {}): ResolvedServerOptions {
  return {
    host: validateHost(options.host ?? DEFAULTS.host),
    port: validatePort(options.port ?? DEFAULTS.port),
    name: validateName(options.name ?? DEFAULTS.name),
    maxLineLength: validateInteger(options.maxLineLength ?? DEFAULTS.maxLineLength, "maxLineLength", 1, 1 << 30),
    maxConnections: validateInteger(options.maxConnections ?? DEFAULTS.maxConnections, "maxConnections", 1, 1 << 30),
    idleTimeout: validateSeconds(options.idleTimeout ?? DEFAULTS.idleTimeoutSeconds, "idleTimeout", 0, 2_000_000),
    shutdownTimeout: validateSeconds(
      options.shutdownTimeout ?? DEFAULTS.shutdownTimeoutSeconds,
      "shutdownTimeout",
      0,
      2_000_000,
    ),
    maxUnsentBytes: validateInteger(options.maxUnsentBytes ?? DEFAULTS.maxUnsentBytes, "maxUnsentBytes", 1024, 1 << 30),
    backlog: validateInteger(options.backlog ?? DEFAULTS.backlog, "backlog", 1, 1 << 20),
  };
}

export class NameEchoServer extends EventEmitter<NameEchoServerEvents> {
  readonly options: Readonly<ResolvedServerOptions>;
  private readonly encoder: ReplyEncoder;
  private readonly netServer: net.Server;
  private readonly connectionSet = new Set<TcpConnection>();
  private stateValue: ServerState = "new";
  private closing: Promise<void> | null = null;
  private boundAddress: ListeningAddress | null = null;
  private fdBudget: FdBudget | null = null;
  /** Turned-away sockets still saying why; they hold descriptors too. */
  private rejecting = 0;
  /** Clients refused for lack of descriptors since the shortage began; null when there is none. */
  private outOfDescriptors: number | null = null;

  constructor(options: NameEchoServerOptions = {}) {
    super();
    this.options = Object.freeze(resolveServerOptions(options));
    this.encoder = new ReplyEncoder(this.options.name);
    this.netServer = net.createServer({
      // We end our side ourselves, after the reply to a final unterminated line.
      allowHalfOpen: true,
      noDelay: true,
      // write() returns false past this many unsent bytes: the backpressure bound.
      highWaterMark: this.options.maxUnsentBytes,
    });
    this.netServer.on("connection", (socket) => this.accept(socket));
  }

  get state(): ServerState {
    return this.stateValue;
  }

  /** The address the server is bound to, once listening. */
  get address(): ListeningAddress | null {
    return this.boundAddress;
  }

  /** The open connections. */
  get connections(): ReadonlySet<TcpConnection> {
    return this.connectionSet;
  }

  /** Starts listening; resolves to the bound address (the real port when port was 0). */
  listen(): Promise<ListeningAddress> {
    if (this.stateValue !== "new") {
      return Promise.reject(new NameEchoError("ERR_SERVER_RUNNING", `listen() was already called (server is ${this.stateValue})`));
    }
    const { host, port, backlog } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.netServer.off("listening", onListening);
        reject(explainListenError(error, host, port));
      };
      const onListening = (): void => {
        this.netServer.off("error", onError);
        // Counted once listening, so the baseline includes the listening socket.
        this.fdBudget = new FdBudget();
        // From now on an 'error' is an accept() failure (EMFILE, ENFILE…):
        // the listening socket is still fine, so report it and carry on.
        this.netServer.on("error", (error) => this.emit("warning", error));
        const bound = this.netServer.address() as net.AddressInfo;
        this.boundAddress = { address: bound.address, port: bound.port, family: bound.family };
        this.stateValue = "listening";
        this.emit("listening", this.boundAddress);
        resolve(this.boundAddress);
      };
      this.netServer.once("error", onError);
      this.netServer.once("listening", onListening);
      this.netServer.listen({ host, port, backlog });
    });
  }

  /**
   * Graceful stop: stop accepting, let every connection send the replies it
   * owes and the closing notice, wait for clients to go, and after
   * shutdownTimeout seconds drop the ones still there. Calling it again
   * returns the same promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.runClose();
    return this.closing;
  }

  /** Stops at once: stop accepting and drop every connection. */
  destroy(): Promise<void> {
    for (const connection of this.connectionSet) connection.destroy();
    return this.close();
  }

  private async runClose(): Promise<void> {
    const wasListening = this.stateValue === "listening";
    this.stateValue = "closing";
    const stopped = wasListening
      ? new Promise<void>((resolve) => this.netServer.close(() => resolve()))
      : Promise.resolve();
    for (const connection of this.connectionSet) connection.shutdown(SHUTDOWN_NOTICE);
    await this.waitForConnections(this.options.shutdownTimeout * 1000);
    // Dropped sockets close on the next turn of the event loop; wait for
    // that, so that close() resolves with every connection gone.
    for (const connection of this.connectionSet) connection.destroy();
    await this.waitForConnections(1000);
    await stopped;
    this.stateValue = "closed";
    this.emit("close");
  }

  private waitForConnections(timeoutMs: number): Promise<void> {
    if (this.connectionSet.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const onDisconnect = (): void => {
        if (this.connectionSet.size === 0) done();
      };
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.off("disconnect", onDisconnect);
        resolve();
      }
      this.on("disconnect", onDisconnect);
    });
  }

  private accept(socket: net.Socket): void {
    if (this.stateValue !== "listening") {
      socket.destroy();
      return;
    }
    if (this.connectionSet.size >= this.options.maxConnections) {
      this.reject(socket, "max-connections", serverFullNotice(this.options.maxConnections));
      return;
    }
    if (this.fdBudget?.exhausted(this.connectionSet.size + this.rejecting + 1)) {
      if (this.outOfDescriptors === null) {
        this.outOfDescriptors = 0;
        const { limit, reserve } = this.fdBudget;
        this.emit(
          "warning",
          new NameEchoError(
            "ERR_OUT_OF_FILE_DESCRIPTORS",
            `out of file descriptors (limit ${limit}, keeping ${reserve} spare): turning new clients away with a notice until some disconnect; raise 'ulimit -n' or lower --max-connections`,
          ),
        );
      }
      this.outOfDescriptors++;
      this.reject(socket, "file-descriptors", outOfDescriptorsNotice());
      return;
    }
    if (this.outOfDescriptors !== null) {
      const turnedAway = this.outOfDescriptors;
      this.outOfDescriptors = null;
      this.emit("recovered", "file-descriptors", turnedAway);
    }
    const connection = new TcpConnection(socket, this.encoder, {
      maxLineLength: this.options.maxLineLength,
      idleTimeoutSeconds: this.options.idleTimeout,
    });
    this.connectionSet.add(connection);
    connection.once("close", (error) => {
      this.connectionSet.delete(connection);
      this.fdBudget?.invalidate();
      this.emit("disconnect", connection, error);
    });
    this.emit("connection", connection);
  }

  /** Tells a client why it is turned away, then closes it; existing clients are not touched. */
  private reject(socket: net.Socket, reason: RejectReason, notice: Buffer): void {
    const remote = Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
    this.rejecting++;
    socket.on("error", () => {}); // a reset from a client we are turning away is not news
    socket.once("close", () => {
      this.rejecting--;
      this.fdBudget?.invalidate();
    });
    socket.end(notice);
    // Do not wait on a client that never reads the notice.
    socket.setTimeout(REJECT_LINGER_MS, () => socket.destroy());
    // Read and drop whatever it sends, so its FIN is seen and the socket can close.
    socket.resume();
    this.emit("rejected", remote, reason);
  }
}
