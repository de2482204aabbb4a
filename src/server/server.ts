/**
 * NameEchoServer: listens, keeps the set of connections, enforces the
 * connection limit, and stops either gracefully (close) or at once (destroy).
 * The lifecycle is drawn in docs/lifecycle.md.
 *
 * Connections are carried by one of two transports (transport/): libuv's
 * TCP handle taken straight from the listening net.Server, or the
 * net.Socket it would otherwise make (TLS, fallback).
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import { Endpoint } from "../endpoint.js";
import { explainListenError, invalidOption, NameEchoError } from "../errors.js";
import {
  kClosed,
  kConnectionClosed,
  kConnectionLimit,
  kDrained,
  kFailed,
  kHeldBytes,
  kOfferEcho,
  kProxyHeaderFailed,
  kProxyHeaderRead,
  kReceive,
  kReceiveEnd,
  kSweepIdle,
  kTurnedAwayClosed,
} from "../internal.js";
import { FdBudget } from "./fd-budget.js";
import { resolveServerOptions } from "./server-options.js";
import { DEFAULT_MAX_PROXY_HEADER_BYTES } from "../protocol/proxy-protocol.js";
import { ReplyEncoder } from "../protocol/reply.js";
import { ConnectionsPerAddress } from "./address-limit.js";
import { ClientMemoryBudget, type EvictionReport } from "./client-memory.js";
import {
  type ConnectionContext,
  type ConnectionLimitKind,
  type ConnectionLimits,
  type ConnectionOwner,
  TcpConnection,
  type WireTraceSink,
} from "./connection.js";
import { type ProxyHeaderOwner, ProxyHeaderReader, runPreamble, type PreambleFailure, type PreambleOptions } from "./preamble.js";
import { outOfDescriptorsNotice, serverFullNotice, SHUTDOWN_NOTICE, tooManyFromAddressNotice } from "../protocol/notices.js";
import { detectHandleBindings } from "./transport/bindings.js";
import { takeAcceptedHandles } from "./transport/handle.js";
import { STREAM_READ_AHEAD_BYTES, StreamTransport } from "./transport/stream.js";
import { type Transport, type TransportChoice, type TransportName, type TransportSink } from "./transport/transport.js";

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
  /**
   * Bytes held for all clients together (unsent output, input not yet
   * processed, pending lines); past it the clients holding the most are told
   * and closed. 0 = no such bound. Default: a sixteenth of the machine's
   * memory, within [32 MiB, 1 GiB] (defaultMaxClientMemory()).
   */
  maxClientMemory?: number;
  /** Most connections at once from one client address (the PROXY header's, if on); 0 = no limit. Default 0. */
  maxConnectionsPerIp?: number;
  /** Seconds a client told to go may take nothing and not close before it is dropped. Default 2. */
  lingerTimeout?: number;
  /** Listen backlog (kernel accept queue). Default 4096. */
  backlog?: number;
  /**
   * Listen with SO_REUSEPORT, so that other servers (processes or threads)
   * listening on the same port with it share the connections, spread by the
   * kernel. Node 22.12+ / 23.1+ on Linux (and a few BSDs); elsewhere the
   * option is refused. Default false.
   */
  reusePort?: boolean;
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
  /**
   * Offer every client server echo the moment it connects (`IAC WILL ECHO`,
   * `IAC WILL SUPPRESS-GO-AHEAD`, `IAC DO NAWS`), so that Linux telnet starts
   * in character mode and the server's line editor takes UTF-8, which that
   * client's own line mode mangles. Default false: then the server speaks
   * telnet only to a client that did first, and nc and scripts see nothing
   * but their replies.
   */
  offerEcho?: boolean;
  /**
   * What carries the bytes: "handle" (libuv's TCP handle, no net.Socket;
   * not for TLS), "stream" (net.Socket / TLSSocket), or "auto": handle
   * where this Node has what it needs and TLS is off, stream otherwise
   * (`transportFallback` says why when it is the Node). Default "auto".
   */
  transport?: TransportChoice;
  /**
   * Look each connection's `local` and `remote` up when it is accepted, so
   * they can still be read after it closed (a reset peer cannot be asked
   * later). Costs a system call or two per connection. Default: true when
   * anyone listens for 'connection' or 'disconnect', else looked up on first
   * use. `serve` passes false: it keeps the address of each connection it logs.
   */
  captureEndpoints?: boolean;
}

export type ResolvedServerOptions = Required<Omit<NameEchoServerOptions, "tls" | "trace" | "captureEndpoints">> & {
  tls: tls.SecureContextOptions | undefined;
  trace: WireTraceSink | undefined;
  captureEndpoints: boolean | undefined;
};

/** Why a client was turned away before its connection started. */
/** How long a turned-away client may take to read its notice before it is dropped. */
const REJECT_LINGER_MS = 5000;

export type RejectReason = "max-connections" | "max-connections-per-ip" | "file-descriptors" | PreambleFailure;

/** What listen() resolves to: the bound address, port and family. */
export type ListeningAddress = Endpoint;

export type ServerState = "new" | "listening" | "closing" | "closed";

export interface NameEchoServerEvents {
  listening: [address: Endpoint];
  connection: [connection: TcpConnection];
  disconnect: [connection: TcpConnection, error: Error | undefined];
  /**
   * A connection hit a limit: a line over maxLineLength (it carries on) or
   * the idle timeout (it is told and closed). The same as the connection's
   * own 'lineTooLong' and 'idle', for all connections with one listener
   * (no listener, and no closure, per connection).
   */
  limit: [connection: TcpConnection, kind: ConnectionLimitKind];
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
  /** All clients together held more than maxClientMemory: the biggest were told and closed (or dropped). */
  memoryFull: [report: EvictionReport];
  /** close() has told every client to go and now waits for `clients` of them (at most shutdownTimeout). */
  stopping: [clients: number];
  /**
   * The stop is over: of the clients it waited for, `dropped` were dropped
   * (after the linger, or at shutdownTimeout), the others closed.
   */
  stopped: [report: StopReport];
  close: [];
}

/** What a graceful stop waited for, and how it ended. */
export interface StopReport {
  /** Clients connected when the stop began. */
  clients: number;
  /** Dropped after taking nothing for lingerTimeout. */
  droppedAfterLinger: number;
  /** Dropped when shutdownTimeout ran out. */
  droppedAtTimeout: number;
  /** How long the stop took, in ms. */
  ms: number;
}

export class NameEchoServer extends EventEmitter<NameEchoServerEvents> implements ConnectionOwner, ProxyHeaderOwner {
  readonly options: Readonly<ResolvedServerOptions>;
  /** One limits object shared by every connection. */
  private readonly limits: ConnectionLimits;
  /** The encoder, the limits, this server as owner and the tracer: one object every connection shares. */
  private readonly connectionContext: ConnectionContext;
  private readonly netServer: net.Server;
  private readonly connectionSet = new Set<TcpConnection>();
  /** PROXY header and TLS handshake settings; null when neither is on. */
  private readonly preamble: PreambleOptions | null = null;
  /** Clients still in their PROXY header or TLS handshake: sockets, or header readers on a transport. */
  private readonly pendingSockets = new Set<{ destroy(): void }>();
  /** Clients turned away (server full) whose notice is still going out; close() must not wait on them for ever. */
  private readonly rejectedSockets = new Set<Transport>();
  private transportValue: TransportName;
  private transportFallbackValue: string | null = null;
  private fdBudget: FdBudget | null = null;
  /** Clients refused for lack of descriptors since the shortage began; null when there is none. */
  private outOfDescriptors: number | null = null;
  private stateValue: ServerState = "new";
  /** listen() is binding the port (the state is still "new" until it is bound). */
  private binding = false;
  private closing: Promise<void> | null = null;
  private boundAddress: Endpoint | null = null;
  /** The one sweep over all connections, for idle timeouts and lingers (null: not listening). */
  private idleSweep: NodeJS.Timeout | null = null;
  /** Connections per client address, when maxConnectionsPerIp is on. */
  private readonly perAddress: ConnectionsPerAddress | null;
  /** During close(): clients dropped by the linger. */
  private droppedAfterLinger = 0;

  constructor(options: NameEchoServerOptions = {}) {
    super();
    this.options = Object.freeze(resolveServerOptions(options));
    this.limits = {
      maxLineLength: this.options.maxLineLength,
      idleTimeoutSeconds: this.options.idleTimeout,
      maxUnsentBytes: this.options.maxUnsentBytes,
      lingerMs: this.options.lingerTimeout * 1000,
      memoryBudget:
        this.options.maxClientMemory === 0
          ? null
          : new ClientMemoryBudget(this.options.maxClientMemory, this.connectionSet, (report) => this.emit("memoryFull", report)),
    };
    this.connectionContext = {
      encoder: new ReplyEncoder(this.options.name),
      limits: this.limits,
      owner: this,
      trace: this.options.trace,
    };
    this.perAddress = this.options.maxConnectionsPerIp === 0 ? null : new ConnectionsPerAddress(this.options.maxConnectionsPerIp);
    this.transportValue = this.chooseTransport();
    this.netServer = net.createServer({
      // We end our side ourselves, after the reply to a final unterminated line.
      allowHalfOpen: true,
      noDelay: true,
      // Both directions; small for the read side (what a paused socket reads
      // ahead), while write()'s bound is maxUnsentBytes (StreamTransport).
      highWaterMark: Math.min(STREAM_READ_AHEAD_BYTES, this.options.maxUnsentBytes),
    });
    // The stream transport's way in; with the handle transport no net.Socket is made.
    this.netServer.on("connection", (socket) => this.accept(new StreamTransport(socket, this.options.maxUnsentBytes), socket));
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

  /** The transport connections are served with: "handle" (libuv's TCP handle) or "stream" (net.Socket). */
  get transport(): TransportName {
    return this.transportValue;
  }

  /** Why "auto" serves with the stream transport on this Node, or null when it did not fall back. */
  get transportFallback(): string | null {
    return this.transportFallbackValue;
  }

  /** Decided once, at construction: what was asked for, what this Node has, and what TLS / PROXY protocol need. */
  private chooseTransport(): TransportName {
    const asked = this.options.transport;
    if (asked === "stream") return "stream";
    if (this.options.tls) {
      if (asked === "handle") throw invalidOption("transport", 'is "handle", which does not serve TLS; with TLS use "auto" or "stream"');
      return "stream";
    }
    const detection = detectHandleBindings();
    if ("bindings" in detection) return "handle";
    if (asked === "handle") {
      throw invalidOption(
        "transport",
        `is "handle", which is not available on Node ${process.version}: ${detection.unavailable}; use "auto" or "stream"`,
      );
    }
    this.transportFallbackValue = detection.unavailable;
    return "stream";
  }

  /** After listening: accepted handles come to us instead of becoming net.Sockets (the handle transport). */
  private takeHandles(): void {
    if (this.transportValue !== "handle") return;
    const detection = detectHandleBindings();
    if (!("bindings" in detection)) return;
    const bound = this.boundAddress!;
    const wildcard = bound.address === "0.0.0.0" || bound.address === "::";
    const settings = {
      maxUnsentBytes: this.options.maxUnsentBytes,
      local: wildcard ? null : bound,
    };
    const unavailable = takeAcceptedHandles(this.netServer, detection.bindings, settings, {
      accepted: (transport) => this.accept(transport, null),
      acceptFailed: (error) => this.emit("warning", error),
    });
    if (unavailable !== null) {
      // The listening socket is not what the bindings check expects: net.Server goes on making net.Sockets.
      this.transportValue = "stream";
      this.transportFallbackValue = unavailable;
    }
  }

  /** The address the server is bound to, once listening. */
  get address(): Endpoint | null {
    return this.boundAddress;
  }

  /**
   * Bytes held for all clients together, as counted against maxClientMemory
   * (as last reported by each connection); with no budget, counted now.
   */
  get heldClientBytes(): number {
    const budget = this.limits.memoryBudget;
    if (budget !== null) return budget.heldBytes;
    let held = 0;
    for (const connection of this.connectionSet) held += connection[kHeldBytes];
    return held;
  }

  /** The open connections. */
  get connections(): ReadonlySet<TcpConnection> {
    return this.connectionSet;
  }

  /** Starts listening; resolves to the bound address (the real port when port was 0). */
  listen(): Promise<Endpoint> {
    // A second call while the first is still binding is refused too; after a failed bind, listen() may be tried again.
    if (this.stateValue !== "new" || this.binding) {
      const state = this.stateValue === "new" ? "starting" : this.stateValue;
      return Promise.reject(new NameEchoError("ERR_SERVER_RUNNING", `listen() was already called (server is ${state})`));
    }
    this.binding = true;
    const { host, port, backlog, reusePort } = this.options;
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
        this.boundAddress = new Endpoint(bound.address, bound.port, bound.family);
        this.takeHandles();
        this.stateValue = "listening";
        this.startIdleSweep();
        this.emit("listening", this.boundAddress);
        resolve(this.boundAddress);
      };
      this.netServer.once("error", onError);
      this.netServer.once("listening", onListening);
      try {
        // Passed only when asked: a Node without the option would share the port some other way without a word.
        this.netServer.listen(reusePort ? { host, port, backlog, reusePort } : { host, port, backlog });
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
    for (const turnedAway of this.rejectedSockets) turnedAway.destroy();
    return this.close();
  }

  private async runClose(): Promise<void> {
    const wasListening = this.stateValue === "listening";
    this.stateValue = "closing";
    const stopped = wasListening ? new Promise<void>((resolve) => this.netServer.close(() => resolve())) : Promise.resolve();
    // A socket still in its header or handshake owes no reply: drop it.
    for (const socket of this.pendingSockets) socket.destroy();
    const started = Date.now();
    const clients = this.connectionSet.size;
    for (const connection of this.connectionSet) connection.shutdown(SHUTDOWN_NOTICE);
    // Counted from here: the sweep drops a client that takes nothing of its last replies for lingerTimeout.
    this.droppedAfterLinger = 0;
    if (this.connectionSet.size > 0) this.emit("stopping", this.connectionSet.size);
    await this.waitForConnections(this.options.shutdownTimeout * 1000);
    // Past the bound: drop whoever is left. netServer.close() only calls
    // back once every socket it accepted is gone, turned-away ones included.
    const droppedAtTimeout = this.connectionSet.size;
    for (const connection of this.connectionSet) connection.destroy();
    for (const turnedAway of this.rejectedSockets) turnedAway.destroy();
    // Dropped sockets close on the next turn of the event loop; wait for
    // that, so that close() resolves (and 'close' is emitted) with every
    // connection gone and its 'disconnect' emitted.
    await this.waitForConnections(1000);
    await stopped;
    this.stopIdleSweep();
    if (clients > 0) {
      this.emit("stopped", { clients, droppedAfterLinger: this.droppedAfterLinger, droppedAtTimeout, ms: Date.now() - started });
    }
    this.stateValue = "closed";
    this.emit("close");
  }

  /**
   * Idle timeouts and lingers for all connections from one unref'd interval
   * instead of a Timeout per socket (refreshed on every read and write). It
   * runs every quarter of the idle timeout or of the linger, whichever is
   * shorter, clamped to [10 ms, 1 s]: a client is closed between idleTimeout
   * and idleTimeout + that interval after going quiet, and a sweep over
   * 10,000 connections costs well under a millisecond.
   */
  private startIdleSweep(): void {
    const idleMs = this.options.idleTimeout * 1000;
    const lingerMs = this.limits.lingerMs;
    const every = Math.min(1000, Math.max(10, Math.min(idleMs > 0 ? idleMs : Infinity, lingerMs) / 4));
    this.idleSweep = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connectionSet) {
        if (connection[kSweepIdle](now, idleMs)) this.droppedAfterLinger++;
      }
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

  /**
   * A new client, on a transport not started yet. `socket` is its net.Socket
   * when it came through the stream transport (a PROXY header or a TLS
   * handshake are read from it before the connection starts).
   */
  private accept(client: Transport, socket: net.Socket | null): void {
    if (this.stateValue !== "listening") {
      client.destroy();
      return;
    }
    if (this.connectionSet.size + this.pendingSockets.size >= this.options.maxConnections) {
      this.reject(client, "max-connections", serverFullNotice(this.options.maxConnections));
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
            `out of file descriptors (limit ${limit}, keeping ${reserve} spare): turning new clients away with a notice until some disconnect; raise 'ulimit -n' or lower the connection limit`,
          ),
        );
      }
      this.outOfDescriptors++;
      this.reject(client, "file-descriptors", outOfDescriptorsNotice());
      return;
    }
    if (this.outOfDescriptors !== null) {
      const turnedAway = this.outOfDescriptors;
      this.outOfDescriptors = null;
      this.emit("recovered", "file-descriptors", turnedAway);
    }
    if (this.preamble === null) {
      this.startConnection(client, undefined);
      return;
    }
    if (this.preamble.secureContext === undefined || socket === null) {
      // A PROXY header alone: read through the transport, which then carries the connection.
      this.pendingSockets.add(new ProxyHeaderReader(client, this.preamble, this));
      return;
    }
    this.pendingSockets.add(socket);
    runPreamble(socket, this.preamble, {
      ready: (ready, remote) => {
        this.pendingSockets.delete(socket);
        if (this.stateValue !== "listening") ready.destroy();
        else this.startConnection(new StreamTransport(ready, this.options.maxUnsentBytes), remote);
      },
      failed: (reason, detail, remote) => {
        this.pendingSockets.delete(socket);
        this.emit("rejected", remote, reason, detail);
      },
    });
  }

  /** The data path starts here; `remote` is the client named by a PROXY header, if any. */
  private startConnection(transport: Transport, remote: Endpoint | undefined): TcpConnection | null {
    if (this.perAddress !== null) {
      // Looked up now: the count is per address, and released by the same key at close.
      remote ??= transport.remoteEndpoint();
      if (!this.perAddress.admit(remote.address)) {
        this.reject(transport, "max-connections-per-ip", tooManyFromAddressNotice(this.perAddress.limit), remote);
        return null;
      }
    }
    // Endpoints at accept only if a listener may keep the connection and
    // read them after it closed; otherwise they are looked up on first use.
    const captureEndpoints = this.options.captureEndpoints ?? (this.listenerCount("connection") > 0 || this.listenerCount("disconnect") > 0);
    const connection = new TcpConnection(transport, {
      context: this.connectionContext,
      remote,
      captureEndpoints,
    });
    this.connectionSet.add(connection);
    this.emit("connection", connection);
    if (this.options.offerEcho && connection.state === "open") connection[kOfferEcho]();
    return connection;
  }

  /** ProxyHeaderOwner */
  [kProxyHeaderRead](reader: ProxyHeaderReader, transport: Transport, remote: Endpoint, rest: Buffer): void {
    this.pendingSockets.delete(reader);
    if (this.stateValue !== "listening") {
      transport.destroy();
      return;
    }
    const connection = this.startConnection(transport, remote);
    // The client's first bytes, from the segment that carried the header.
    if (connection !== null && rest.length > 0) connection[kReceive](rest);
  }

  /** ProxyHeaderOwner */
  [kProxyHeaderFailed](reader: ProxyHeaderReader, detail: string, remote: Endpoint): void {
    this.pendingSockets.delete(reader);
    this.emit("rejected", remote, "proxy-header", detail);
  }

  /** ConnectionOwner */
  [kConnectionLimit](connection: TcpConnection, kind: ConnectionLimitKind): void {
    this.emit("limit", connection, kind);
  }

  /** ConnectionOwner: called by the connection itself, so accept makes no closure. */
  [kConnectionClosed](connection: TcpConnection, error: Error | undefined): void {
    this.connectionSet.delete(connection);
    this.fdBudget?.invalidate();
    this.perAddress?.release(connection.remote.address);
    this.emit("disconnect", connection, error);
  }

  /** Tells a client why it is turned away, then closes it; existing clients are not touched. */
  private reject(
    client: Transport,
    reason: "max-connections" | "max-connections-per-ip" | "file-descriptors",
    notice: Buffer,
    remote: Endpoint = client.remoteEndpoint(),
  ): void {
    this.rejectedSockets.add(client);
    new TurnedAway(client, notice, this);
    this.emit("rejected", remote, reason);
  }

  /** A turned-away client is gone. */
  [kTurnedAwayClosed](client: Transport): void {
    this.rejectedSockets.delete(client);
    this.fdBudget?.invalidate();
  }
}

/**
 * A client being turned away: it gets its notice and our FIN; whatever it
 * sends is read and dropped, so its FIN is seen and the transport can close.
 */
class TurnedAway implements TransportSink {
  private readonly client: Transport;
  private readonly server: NameEchoServer;
  /** Do not wait on a client that never reads the notice. */
  private readonly linger: NodeJS.Timeout;

  constructor(client: Transport, notice: Buffer, server: NameEchoServer) {
    this.client = client;
    this.server = server;
    client.start(this);
    client.write(notice);
    client.end();
    this.linger = setTimeout(() => client.destroy(), REJECT_LINGER_MS);
  }

  [kReceive](): void {}
  [kReceiveEnd](): void {}
  [kDrained](): void {}
  /** A reset from a client we are turning away is not news. */
  [kFailed](): void {}
  [kClosed](): void {
    clearTimeout(this.linger);
    this.server[kTurnedAwayClosed](this.client);
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
