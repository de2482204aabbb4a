/**
 * TcpConnection: one client, the only place that knows both a socket and the
 * protocol. Decides backpressure, limits and timeouts; the protocol code it
 * drives (telnet session with its line framer, reply encoder) is pure.
 *
 * Listeners are module-level functions that find their connection through
 * a symbol on the socket (as ws does), so a connection costs no closures.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Endpoint } from "../endpoint.js";
import type { LineSink } from "../protocol/line-framer.js";
import { ReplyBatch, type ReplyEncoder } from "../protocol/reply.js";
import { TelnetSession } from "../protocol/telnet-session.js";
import { idleNotice, lineTooLongNotice, SHUTDOWN_NOTICE } from "./notices.js";

const kConnection = Symbol("name-echo connection");

export interface ConnectionLimits {
  maxLineLength: number;
  /** Seconds; 0 turns the idle timeout off. */
  idleTimeoutSeconds: number;
}

/** open → (client half-closed | closing) → closed. */
export type ConnectionState = "open" | "ending" | "closing" | "closed";

export interface ConnectionStats {
  bytesIn: number;
  bytesOut: number;
  lines: number;
  linesTooLong: number;
}

type SocketWithConnection = Socket & { [kConnection]?: TcpConnection };

export interface TcpConnectionEvents {
  close: [error: Error | undefined];
  lineTooLong: [];
  idle: [];
  /** Reading stopped: the client is not taking its replies (backpressure). */
  paused: [];
  /** The client caught up; reading goes on. */
  resumed: [];
}

export class TcpConnection extends EventEmitter<TcpConnectionEvents> implements LineSink {
  /** The server's end of the connection. */
  readonly local: Endpoint;
  /** The client's end of the connection. */
  readonly remote: Endpoint;
  /** When the connection was accepted (ms since the epoch). */
  readonly connectedAt = Date.now();
  readonly stats: ConnectionStats = { bytesIn: 0, bytesOut: 0, lines: 0, linesTooLong: 0 };

  private readonly socket: SocketWithConnection;
  /** Telnet commands, line editing, echo and framing: all of the input side. */
  private readonly input: TelnetSession;
  private readonly batch: ReplyBatch;
  private readonly limits: ConnectionLimits;
  private stateValue: ConnectionState = "open";
  /** Reading stopped because the client is not taking its replies. */
  private pausedForBackpressure = false;
  private closeError: Error | undefined;

  /** `remote` overrides the socket's peer address: the real client named by a PROXY header. */
  constructor(socket: Socket, encoder: ReplyEncoder, limits: ConnectionLimits, remote?: Endpoint) {
    super();
    this.socket = socket as SocketWithConnection;
    this.limits = limits;
    this.local = Endpoint.from(socket.localAddress, socket.localPort, socket.localFamily);
    this.remote = remote ?? Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
    this.batch = new ReplyBatch(encoder);
    this.input = new TelnetSession(this, this.batch, limits.maxLineLength);

    this.socket[kConnection] = this;
    socket.setNoDelay(true);
    if (limits.idleTimeoutSeconds > 0) socket.setTimeout(limits.idleTimeoutSeconds * 1000);
    socket.on("data", socketOnData);
    socket.on("end", socketOnEnd);
    socket.on("drain", socketOnDrain);
    socket.on("timeout", socketOnTimeout);
    socket.on("error", socketOnError);
    socket.on("close", socketOnClose);
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Reply bytes accepted by write() but not yet handed to the kernel. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Whether reading is paused until the client takes its replies. */
  get isPausedForBackpressure(): boolean {
    return this.pausedForBackpressure;
  }

  override toString(): string {
    return `${this.remote} -> ${this.local}`;
  }

  /**
   * Graceful end: replies already owed go out (they were written as their
   * lines arrived), then the notice, then our FIN. Input from now on is
   * read and dropped so that the client's FIN can still be seen.
   */
  shutdown(notice: Buffer = SHUTDOWN_NOTICE): void {
    if (this.stateValue === "closing" || this.stateValue === "closed") return;
    const wasEnding = this.stateValue === "ending";
    this.stateValue = "closing";
    if (wasEnding) return; // our FIN is already on its way
    if (this.socket.writable) this.socket.end(notice);
    // Read on: the FIN that lets the socket close must not sit behind paused input.
    this.resumeReading();
  }

  /** Drops the connection now, without a goodbye. */
  destroy(): void {
    this.socket.destroy();
  }

  // LineSink: called by the telnet session, synchronously inside receive().
  line(line: Buffer): void {
    this.stats.lines++;
    this.batch.addReply(line);
  }

  lineTooLong(): void {
    this.stats.linesTooLong++;
    this.batch.add(lineTooLongNotice(this.limits.maxLineLength));
    this.emit("lineTooLong");
  }

  /** @internal bytes from the socket */
  receive(chunk: Buffer): void {
    if (this.stateValue !== "open") return;
    this.stats.bytesIn += chunk.length;
    this.input.receive(chunk);
    this.flush();
  }

  /** @internal the client half-closed: answer its last unterminated line, then finish. */
  receiveEnd(): void {
    if (this.stateValue !== "open") return;
    this.input.finish();
    this.flush();
    this.stateValue = "ending";
    this.socket.end();
  }

  /** @internal the socket may take more bytes */
  writable(): void {
    if (this.pausedForBackpressure) {
      this.pausedForBackpressure = false;
      this.socket.resume();
      this.emit("resumed");
    }
  }

  /** @internal no traffic for idleTimeoutSeconds */
  idle(): void {
    if (this.stateValue === "open") {
      this.emit("idle");
      this.shutdown(idleNotice(this.limits.idleTimeoutSeconds));
    } else {
      // Already saying goodbye and still nothing moved: the client is gone or stuck.
      this.socket.destroy();
    }
  }

  /** @internal */
  failed(error: Error): void {
    this.closeError ??= error;
  }

  /** @internal */
  closed(): void {
    this.stateValue = "closed";
    this.emit("close", this.closeError);
  }

  private flush(): void {
    const bytes = this.batch.take();
    if (bytes === null) return;
    this.stats.bytesOut += bytes.length;
    // write() returns false once the socket holds more unsent bytes than its
    // highWaterMark (the server's maxUnsentBytes): stop reading this client
    // until it has taken its replies ('drain'), so its memory stays bounded.
    if (!this.socket.write(bytes) && !this.pausedForBackpressure) {
      this.pausedForBackpressure = true;
      this.socket.pause();
      this.emit("paused");
    }
  }

  private resumeReading(): void {
    this.pausedForBackpressure = false;
    this.socket.resume();
  }
}

function connectionOf(socket: SocketWithConnection): TcpConnection {
  return socket[kConnection]!;
}

function socketOnData(this: SocketWithConnection, chunk: Buffer): void {
  connectionOf(this).receive(chunk);
}

function socketOnEnd(this: SocketWithConnection): void {
  connectionOf(this).receiveEnd();
}

function socketOnDrain(this: SocketWithConnection): void {
  connectionOf(this).writable();
}

function socketOnTimeout(this: SocketWithConnection): void {
  connectionOf(this).idle();
}

function socketOnError(this: SocketWithConnection, error: Error): void {
  connectionOf(this).failed(error);
}

function socketOnClose(this: SocketWithConnection): void {
  connectionOf(this).closed();
}
