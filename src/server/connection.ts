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
import { ReplyBatch, type ReplyEncoder } from "../protocol/reply.js";
import { type SessionSink, TelnetSession } from "../protocol/telnet-session.js";
import { idleNotice, lineTooLongNotice, SHUTDOWN_NOTICE } from "../protocol/notices.js";

const kConnection = Symbol("name-echo connection");

export interface ConnectionLimits {
  maxLineLength: number;
  /**
   * Seconds; 0 turns the idle timeout off. Enforced by the owner's sweep
   * calling sweepIdle() (NameEchoServer does), not by a timer per socket.
   */
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

/**
 * Sees every byte a connection reads and writes (`serve --trace`). Called
 * synchronously with the chunk, which it must not keep or change.
 */
export interface WireTraceSink {
  received(connection: TcpConnection, bytes: Buffer): void;
  sent(connection: TcpConnection, bytes: Buffer): void;
}

/** Who is told first when a connection closes (the server), without a listener closure per connection. */
export interface ConnectionOwner {
  connectionClosed(connection: TcpConnection, error: Error | undefined): void;
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

export class TcpConnection extends EventEmitter<TcpConnectionEvents> implements SessionSink {
  /** When the connection was accepted (ms since the epoch). */
  readonly connectedAt = Date.now();
  // The counters behind `stats`, as plain fields: no object of their own per connection.
  private bytesIn = 0;
  private bytesOut = 0;
  private lines = 0;
  private linesTooLong = 0;
  /**
   * The endpoints, looked up on first use (two syscalls and four objects
   * that most connections never need), or at accept when capture was asked
   * for: see the constructor.
   */
  private localValue: Endpoint | undefined;
  private remoteValue: Endpoint | undefined;
  private readonly owner: ConnectionOwner | undefined;

  private readonly socket: SocketWithConnection;
  /** Telnet commands, line editing, echo and framing: all of the input side. */
  private readonly input: TelnetSession;
  private readonly batch: ReplyBatch;
  private readonly limits: ConnectionLimits;
  private stateValue: ConnectionState = "open";
  /** Reading stopped because the client is not taking its replies. */
  private pausedForBackpressure = false;
  private closeError: Error | undefined;
  /**
   * Idle bookkeeping for sweepIdle(): a flag set on every read and write
   * (cheaper than a clock read per chunk, and no Timeout object and refresh()
   * per socket, as socket.setTimeout costs), the time of the sweep that last
   * saw activity, and the unsent byte count it saw (a change means writes
   * completed or were queued: the client is taking its replies).
   */
  private touched = false;
  private quietSince = this.connectedAt;
  private unsentAtSweep = 0;

  /**
   * @param remote overrides the socket's peer address: the real client named by a PROXY header.
   * @param captureEndpoints look `local` and `remote` up now rather than on
   *   first use. Needed when someone may first read them after the close
   *   (the socket can no longer tell then, and a reset peer cannot be asked
   *   even before): the server asks for it when anyone listens for its
   *   'connection' or 'disconnect' events.
   * @param owner told of the close before the 'close' event.
   */
  constructor(
    socket: Socket,
    encoder: ReplyEncoder,
    limits: ConnectionLimits,
    remote?: Endpoint,
    captureEndpoints = true,
    owner?: ConnectionOwner,
  ) {
    super();
    this.socket = socket as SocketWithConnection;
    this.limits = limits;
    this.owner = owner;
    this.remoteValue = remote;
    if (captureEndpoints) {
      void this.local;
      void this.remote;
    }
    this.batch = new ReplyBatch(encoder);
    this.input = new TelnetSession(this, this.batch, limits.maxLineLength);

    this.socket[kConnection] = this;
    socket.setNoDelay(true);
    socket.on("data", socketOnData);
    socket.on("end", socketOnEnd);
    socket.on("drain", socketOnDrain);
    socket.on("error", socketOnError);
    socket.on("close", socketOnClose);
  }

  /** The server's end of the connection. */
  get local(): Endpoint {
    const socket = this.socket;
    return (this.localValue ??= Endpoint.from(socket.localAddress, socket.localPort, socket.localFamily));
  }

  /** The client's end of the connection. */
  get remote(): Endpoint {
    const socket = this.socket;
    return (this.remoteValue ??= Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily));
  }

  /** The traffic so far: a snapshot. */
  get stats(): ConnectionStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, lines: this.lines, linesTooLong: this.linesTooLong };
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
    // Our goodbye is activity: the client gets a whole idle period from here
    // to close its side, as after any other write.
    this.touched = true;
    if (wasEnding) return; // our FIN is already on its way
    if (this.socket.writable) {
      this.input.notice(notice);
      const goodbye = this.batch.take()!;
      if (this.tracer !== undefined) this.tracer.sent(this, goodbye);
      this.socket.end(goodbye);
    }
    // Read on: the FIN that lets the socket close must not sit behind paused input.
    this.resumeReading();
  }

  /** Drops the connection now, without a goodbye. */
  destroy(): void {
    this.socket.destroy();
  }

  /** SessionSink: a line as a span of the chunk being read; its reply is copied from there, no view made. */
  line(chunk: Buffer, from: number, to: number): void {
    this.lines++;
    this.batch.addReplySpan(chunk, from, to);
  }

  lineTooLong(): void {
    this.linesTooLong++;
    this.input.notice(lineTooLongNotice(this.limits.maxLineLength));
    this.emit("lineTooLong");
  }

  /** @internal bytes from the socket */
  receive(chunk: Buffer): void {
    // Input counts as activity in every state, as it did for socket.setTimeout.
    this.touched = true;
    if (this.stateValue !== "open") return;
    this.bytesIn += chunk.length;
    if (this.tracer !== undefined) this.tracer.received(this, chunk);
    this.consume(chunk);
  }

  /** Input the session stopped short of (its output reached the unsent limit): fed again on 'drain'. */
  private held: Buffer | null = null;

  private consume(chunk: Buffer): void {
    const consumed = this.input.receive(chunk, this.socket.writableHighWaterMark - this.socket.writableLength);
    this.flush();
    if (consumed === chunk.length) return;
    this.held = chunk.subarray(consumed);
    // flush() has paused reading (the budget was reached, so the write said
    // wait); should it not have, no later chunk may overtake the held rest.
    if (!this.pausedForBackpressure) {
      this.pausedForBackpressure = true;
      this.socket.pause();
      this.emit("paused");
    }
  }

  /** @internal the client half-closed: answer its last unterminated line, then finish. */
  receiveEnd(): void {
    this.touched = true;
    if (this.stateValue !== "open") return;
    this.input.finish();
    this.flush();
    this.stateValue = "ending";
    this.socket.end();
  }

  /** @internal the socket may take more bytes */
  writable(): void {
    this.touched = true;
    const rest = this.held;
    this.held = null;
    if (rest !== null && this.stateValue === "open") this.consume(rest);
    // Still owed too much: stay paused (no 'end' can come before the held rest, reading is paused).
    if (this.held !== null || this.socket.writableNeedDrain) return;
    if (this.pausedForBackpressure) {
      this.pausedForBackpressure = false;
      this.socket.resume();
      this.emit("resumed");
    }
  }

  /**
   * @internal called by the owner's periodic sweep (NameEchoServer: every
   * quarter of the idle timeout, at most 1 s apart), with the sweep's clock.
   * No activity since the last sweep for idleMs: idle(). The timeout thus
   * fires between idleMs and idleMs + one sweep interval after the last
   * activity. A second quiet period (during closing) destroys, as before.
   */
  sweepIdle(now: number, idleMs: number): void {
    const unsent = this.socket.writableLength;
    if (this.touched || unsent !== this.unsentAtSweep) {
      this.touched = false;
      this.unsentAtSweep = unsent;
      this.quietSince = now;
      return;
    }
    if (now - this.quietSince < idleMs) return;
    // The next quiet period (the one that ends in destroy()) starts now.
    this.quietSince = now;
    this.idle();
  }

  /** @internal no traffic for idleTimeoutSeconds */
  idle(): void {
    if (this.stateValue === "open" && this.pausedForBackpressure) {
      // Not one reply taken for a whole idle period: a notice queued behind
      // its unread replies would never be read, and waiting another period
      // keeps megabytes parked in kernel socket buffers. Drop it now.
      this.emit("idle");
      this.socket.destroy();
    } else if (this.stateValue === "open") {
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
    this.owner?.connectionClosed(this, this.closeError);
    this.emit("close", this.closeError);
  }

  private flush(): void {
    const bytes = this.batch.take();
    if (bytes === null) return;
    this.touched = true;
    this.bytesOut += bytes.length;
    if (this.tracer !== undefined) this.tracer.sent(this, bytes);
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

  // Read-only views for the HTTP port (/connections) and the wire trace.

  /** @internal set by the owner when its `trace` option is: sees every byte read and written. */
  tracer: WireTraceSink | undefined = undefined;

  /** Whether the server echoes what the client types (character mode) rather than the client itself. */
  get echoing(): boolean {
    return this.input.echoing;
  }

  /** The line the client is typing, not yet ended (a copy, at most maxLineLength bytes). */
  pendingInput(): Buffer {
    return this.input.pendingLine();
  }

  /** How the bytes travel: a Node stream socket (the only kind today). */
  get transportKind(): "stream" {
    return "stream";
  }

  /**
   * Milliseconds since the last read or write, as the idle sweep sees it:
   * 0 if there was activity since its last pass, so the resolution is one
   * sweep interval. Meaningless when no sweep runs (idle timeout 0).
   */
  idleForMs(now: number): number {
    return this.touched ? 0 : Math.max(0, now - this.quietSince);
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

function socketOnError(this: SocketWithConnection, error: Error): void {
  connectionOf(this).failed(error);
}

function socketOnClose(this: SocketWithConnection): void {
  connectionOf(this).closed();
}
