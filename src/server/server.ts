/**
 * NameEchoServer: listens, keeps the set of connections, enforces the
 * connection limit, and stops either gracefully (close) or at once (destroy).
 * The lifecycle is drawn in docs/lifecycle.md.
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { Endpoint } from "../endpoint.js";
import { explainListenError, invalidOption, NameEchoError } from "../errors.js";
import { FdBudget } from "./fd-budget.js";
import { resolveServerOptions } from "./server-options.js";
import { DEFAULT_MAX_PROXY_HEADER_BYTES } from "../protocol/proxy-protocol.js";
import { ReplyEncoder } from "../protocol/reply.js";
import { type ConnectionLimits, type ConnectionOwner, TcpConnection, type WireTraceSink } from "./connection.js";
import { runPreamble, type PreambleFailure, type PreambleOptions } from "./preamble.js";
import { outOfDescriptorsNotice, serverFullNotice, SHUTDOWN_NOTICE } from "../protocol/notices.js";

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
  /**
   * Every connection must start with a PROXY protocol v1 or v2 header (from
   * HAProxy, nginx, a cloud load balancer); the client address it carries
   * becomes TcpConnection.remote. Connections without one are closed. Default false.
   */
  proxyProtocol?: boolean;
  /** Seconds a new connection has for its PROXY header and TLS handshake together. Default 5. */
  handshakeTimeout?: number;
  /** Serve TLS: at least `cert` and `key` (PEM), as for tls.createSecureContext(). Default: plain TCP. */
  tls?: tls.SecureContextOptions;
  /** Shown every byte each connection reads and writes (`serve --trace`). Default: none, at no cost. */
  trace?: WireTraceSink;
}

export type ResolvedServerOptions = Required<Omit<NameEchoServerOptions, "tls" | "trace">> & {
  tls: tls.SecureContextOptions | undefined;
  trace: WireTraceSink | undefined;
};

/** Why a client was turned away before its connection started. */
/** How long a turned-away client may take to read its notice before it is dropped. */
const REJECT_LINGER_MS = 5000;

export type RejectReason = "max-connections" | "file-descriptors" | PreambleFailure;

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
  /** A client was turned away: server full, or no valid PROXY header / TLS handshake (detail says what). */
  rejected: [remote: Endpoint, reason: RejectReason, detail?: string];
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

// Checked by the rules in server-options.ts; exported from here too, where it always was.
export { resolveServerOptions };

export class NameEchoServer extends EventEmitter<NameEchoServerEvents> implements ConnectionOwner {
  readonly options: Readonly<ResolvedServerOptions>;
  private readonly encoder: ReplyEncoder;
  /** One limits object shared by every connection. */
  private readonly limits: ConnectionLimits;
  private readonly netServer: net.Server;
  private readonly connectionSet = new Set<TcpConnection>();
  /** Sockets still in their PROXY header or TLS handshake; null when neither is on. */
  private readonly preamble: PreambleOptions | null = null;
  private readonly pendingSockets = new Set<net.Socket>();
  /** Clients turned away (server full) whose notice is still going out; close() must not wait on them for ever. */
  private readonly rejectedSockets = new Set<net.Socket>();
  private fdBudget: FdBudget | null = null;
  /** Clients refused for lack of descriptors since the shortage began; null when there is none. */
  private outOfDescriptors: number | null = null;
  private stateValue: ServerState = "new";
  /** listen() is binding the port (the state is still "new" until it is bound). */
  private binding = false;
  private closing: Promise<void> | null = null;
  private boundAddress: ListeningAddress | null = null;
  /** The one idle-timeout sweep over all connections (null: no idle timeout, or not listening). */
  private idleSweep: NodeJS.Timeout | null = null;

  constructor(options: NameEchoServerOptions = {}) {
    super();
    this.options = Object.freeze(resolveServerOptions(options));
    this.encoder = new ReplyEncoder(this.options.name);
    this.limits = { maxLineLength: this.options.maxLineLength, idleTimeoutSeconds: this.options.idleTimeout };
    this.netServer = net.createServer({
      // We end our side ourselves, after the reply to a final unterminated line.
      allowHalfOpen: true,
      noDelay: true,
      // write() returns false past this many unsent bytes: the backpressure bound.
      highWaterMark: this.options.maxUnsentBytes,
    });
    this.netServer.on("connection", (socket) => this.accept(socket));
    if (this.options.proxyProtocol || this.options.tls) {
      this.preamble = {
        proxyProtocol: this.options.proxyProtocol,
        maxProxyHeaderBytes: DEFAULT_MAX_PROXY_HEADER_BYTES,
        secureContext: this.options.tls ? createSecureContext(this.options.tls) : undefined,
        timeoutMs: this.options.handshakeTimeout * 1000,
      };
    }
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
    // A second call while the first is still binding is refused too; after a failed bind, listen() may be tried again.
    if (this.stateValue !== "new" || this.binding) {
      const state = this.stateValue === "new" ? "starting" : this.stateValue;
      return Promise.reject(new NameEchoError("ERR_SERVER_RUNNING", `listen() was already called (server is ${state})`));
    }
    this.binding = true;
    const { host, port, backlog } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        this.binding = false;
        this.netServer.off("listening", onListening);
        reject(explainListenError(error, host, port));
      };
      const onListening = (): void => {
        this.netServer.off("error", onError);
        if (this.closing) {
          // close() was called while the port was being bound: do not
          // start serving after being told to stop; give the port back.
          this.netServer.close();
          reject(new NameEchoError("ERR_SERVER_NOT_RUNNING", "close() was called before listen() finished"));
          return;
        }
        // Counted once listening, so the baseline includes the listening socket.
        this.fdBudget = new FdBudget();
        // From now on an 'error' is an accept() failure (EMFILE, ENFILE…):
        // the listening socket is still fine, so report it and carry on.
        this.netServer.on("error", (error) => this.emit("warning", error));
        const bound = this.netServer.address() as net.AddressInfo;
        this.boundAddress = { address: bound.address, port: bound.port, family: bound.family };
        this.stateValue = "listening";
        this.startIdleSweep();
        this.emit("listening", this.boundAddress);
        resolve(this.boundAddress);
      };
      this.netServer.once("error", onError);
      this.netServer.once("listening", onListening);
      try {
        this.netServer.listen({ host, port, backlog });
      } catch (error) {
        // getaddrinfo refuses some names by throwing from inside listen().
        this.binding = false;
        this.netServer.off("error", onError);
        this.netServer.off("listening", onListening);
        const explained = explainListenError(error, host, port);
        reject(explained instanceof NameEchoError ? explained : invalidOption("host", `cannot be listened on: ${(error as Error).message}`));
      }
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
    for (const socket of this.rejectedSockets) socket.destroy();
    return this.close();
  }

  private async runClose(): Promise<void> {
    const wasListening = this.stateValue === "listening";
    this.stateValue = "closing";
    const stopped = wasListening
      ? new Promise<void>((resolve) => this.netServer.close(() => resolve()))
      : Promise.resolve();
    // A socket still in its header or handshake owes no reply: drop it.
    for (const socket of this.pendingSockets) socket.destroy();
    for (const connection of this.connectionSet) connection.shutdown(SHUTDOWN_NOTICE);
    await this.waitForConnections(this.options.shutdownTimeout * 1000);
    // Past the bound: drop whoever is left. netServer.close() only calls
    // back once every socket it accepted is gone, turned-away ones included.
    for (const connection of this.connectionSet) connection.destroy();
    for (const socket of this.rejectedSockets) socket.destroy();
    // Dropped sockets close on the next turn of the event loop; wait for
    // that, so that close() resolves (and 'close' is emitted) with every
    // connection gone and its 'disconnect' emitted.
    await this.waitForConnections(1000);
    await stopped;
    this.stopIdleSweep();
    this.stateValue = "closed";
    this.emit("close");
  }

  /**
   * Idle timeouts for all connections from one unref'd interval instead of a
   * Timeout per socket (refreshed on every read and write). It runs every
   * quarter of the idle timeout, clamped to [10 ms, 1 s]: a client is closed
   * between idleTimeout and idleTimeout + that interval after going quiet,
   * and a sweep over 10,000 connections costs well under a millisecond.
   */
  private startIdleSweep(): void {
    const idleMs = this.options.idleTimeout * 1000;
    if (idleMs <= 0) return;
    const every = Math.min(1000, Math.max(10, idleMs / 4));
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connectionSet) connection.sweepIdle(now, idleMs);
    }, every);
    this.idleSweep.unref();
  }

  private stopIdleSweep(): void {
    if (this.idleSweep !== null) clearInterval(this.idleSweep);
    this.idleSweep = null;
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
    if (this.connectionSet.size + this.pendingSockets.size >= this.options.maxConnections) {
      this.reject(socket, "max-connections", serverFullNotice(this.options.maxConnections));
      return;
    }
    // Every socket we hold costs a descriptor: clients, handshakes, and the turned-away still being told.
    const held = this.connectionSet.size + this.pendingSockets.size + this.rejectedSockets.size + 1;
    if (this.fdBudget?.exhausted(held)) {
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
    if (this.preamble === null) {
      this.startConnection(socket, undefined);
      return;
    }
    this.pendingSockets.add(socket);
    runPreamble(socket, this.preamble, {
      ready: (ready, remote) => {
        this.pendingSockets.delete(socket);
        if (this.stateValue !== "listening") ready.destroy();
        else this.startConnection(ready, remote);
      },
      failed: (reason, detail, remote) => {
        this.pendingSockets.delete(socket);
        this.emit("rejected", remote, reason, detail);
      },
    });
  }

  /** The data path starts here; `remote` is the client named by a PROXY header, if any. */
  private startConnection(socket: net.Socket, remote: Endpoint | undefined): void {
    // Endpoints at accept only if a listener may keep the connection and
    // read them after it closed; otherwise they are looked up on first use.
    const captureEndpoints = this.listenerCount("connection") > 0 || this.listenerCount("disconnect") > 0;
    const connection = new TcpConnection(socket, this.encoder, this.limits, remote, captureEndpoints, this);
    if (this.options.trace !== undefined) connection.tracer = this.options.trace;
    this.connectionSet.add(connection);
    this.emit("connection", connection);
  }

  /** @internal ConnectionOwner: called by the connection itself, so accept makes no closure. */
  connectionClosed(connection: TcpConnection, error: Error | undefined): void {
    this.connectionSet.delete(connection);
    this.fdBudget?.invalidate();
    this.emit("disconnect", connection, error);
  }

  /** Tells a client why it is turned away, then closes it; existing clients are not touched. */
  private reject(socket: net.Socket, reason: "max-connections" | "file-descriptors", notice: Buffer): void {
    const remote = Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
    socket.on("error", () => {}); // a reset from a client we are turning away is not news
    this.rejectedSockets.add(socket);
    socket.once("close", () => {
      this.rejectedSockets.delete(socket);
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

/** A bad certificate or key is an option error at construction, not a failure per client later. */
function createSecureContext(options: tls.SecureContextOptions): tls.SecureContext {
  if (!options.cert || !options.key) throw invalidOption("tls", "needs both a certificate (cert) and its private key (key)");
  try {
    return tls.createSecureContext(options);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw invalidOption("tls", `certificate or key cannot be used: ${reason}`);
  }
}
