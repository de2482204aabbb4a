/**
 * TcpConnection: one client, the only place that knows both a transport and
 * the protocol. Decides backpressure, limits and timeouts; the protocol code
 * it drives (telnet session with its line framer, reply encoder) is pure, and
 * the socket is behind a Transport (transport/transport.ts), so the same
 * connection runs on libuv's TCP handle or on a net.Socket / TLSSocket.
 *
 * All input passes through [kReceive]() and all output through flush().
 *
 * Its public API is what a user of the server reads: the endpoints, stats,
 * state, shutdown(), destroy(), its events, and the read-only views the HTTP
 * port uses. What its transport, telnet session, memory budget and owner
 * call is keyed by the symbols of internal.ts, so it is no part of that API
 * and costs nothing per connection.
 */
import { EventEmitter } from "node:events";
import type { Endpoint } from "../endpoint.js";
import {
  kClosed,
  kConnectionClosed,
  kConnectionLimit,
  kDrained,
  kEvict,
  kFailed,
  kHeldBytes,
  kIsLeaving,
  kMemoryCharge,
  kOfferEcho,
  kReceive,
  kReceiveEnd,
  kSweepIdle,
} from "../internal.js";
import { releaseOutput, OutputBatch, type ReplyEncoder } from "../protocol/reply.js";
import { answerPlainLines } from "../protocol/plain-lines.js";
import { escapeIAC } from "../protocol/iac-escape.js";
import { type SessionSink, TelnetSession } from "../protocol/telnet-session.js";
import type { ClientMemoryBudget, MemoryHolder } from "./client-memory.js";
import { clientMemoryNotice, idleNotice, lineTooLongNotice, SHUTDOWN_NOTICE } from "../protocol/notices.js";
import type { Transport, TransportName, TransportSink } from "./transport/transport.js";

/**
 * Times are kept as milliseconds since this module loaded rather than since
 * the epoch: a small integer is stored in the object itself, where an epoch
 * time (past 2^31) would cost a heap number of its own per field. Good for
 * 12 days of uptime (2^30 ms); past that the values are still right,
 * only bigger.
 */
const CLOCK_BASE = Date.now();

/** `epochMs` as ms since CLOCK_BASE, as a small integer while it fits in one. */
function sinceBase(epochMs: number): number {
  const ms = epochMs - CLOCK_BASE;
  return ms <= 0x3fffffff ? ms | 0 : ms;
}

// The connection's state and flags, in one small integer (one field, not five).
/** The state: the two low bits, an index into STATE_NAMES. */
const STATE_BITS = 0b11;
const OPEN = 0;
const ENDING = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATE_NAMES: readonly ConnectionState[] = ["open", "ending", "closing", "closed"];
/** Reading stopped because the client is not taking its replies. */
const PAUSED = 1 << 2;
/**
 * Set on every read and write, cleared by the idle sweep ([kSweepIdle]):
 * cheaper than a clock read per chunk, and no Timeout object and refresh()
 * per socket, as socket.setTimeout costs.
 */
const TOUCHED = 1 << 3;
/**
 * Told to go (shutdown, idle, eviction): from then on only the client
 * taking its bytes counts as activity, and lingerMs of none drops it.
 */
const LINGERING = 1 << 4;

export interface ConnectionLimits {
  maxLineLength: number;
  /**
   * Seconds; 0 turns the idle timeout off. Enforced by the owner's sweep
   * calling [kSweepIdle]() (NameEchoServer does), not by a timer per socket.
   */
  idleTimeoutSeconds: number;
  /**
   * Unsent bytes (replies, echo, telnet answers) a client may have before
   * reading from it stops; input is fed to the protocol only as far as its
   * output fits under this bound.
   */
  maxUnsentBytes: number;
  /**
   * Milliseconds a client told to go (closing notice and our FIN sent) may
   * take nothing of what it is owed, and not close, before it is dropped.
   */
  lingerMs: number;
  /** The budget for all clients together (client-memory.ts), or null for none. */
  memoryBudget: ClientMemoryBudget | null;
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

/** A limit a connection hit: a line over maxLineLength (it carries on), or the idle timeout (it is closed). */
export type ConnectionLimitKind = "line-too-long" | "idle-timeout";

/** Who is told first when a connection closes or hits a limit (the server), without a listener closure per connection. */
export interface ConnectionOwner {
  [kConnectionClosed](connection: TcpConnection, error: Error | undefined): void;
  [kConnectionLimit]?(connection: TcpConnection, kind: ConnectionLimitKind): void;
}

/** What every connection of one owner shares: one object, made once, not a field each per connection. */
export interface ConnectionContext {
  readonly encoder: ReplyEncoder;
  readonly limits: ConnectionLimits;
  /** Told of the close (before the 'close' event) and of limits hit. */
  readonly owner?: ConnectionOwner | undefined;
  /** Sees every byte read and written (the server's `trace` option). */
  readonly trace?: WireTraceSink | undefined;
}

/** What a connection is made with, by its owner (NameEchoServer) at accept. */
export interface TcpConnectionOptions {
  /** The same object for all of the owner's connections. */
  context: ConnectionContext;
  /** Overrides the socket's peer address: the real client named by a PROXY header. */
  remote?: Endpoint | undefined;
  /**
   * Look `local` and `remote` up now rather than on first use. Needed when
   * someone may first read them after the close (the socket can no longer
   * tell then, and a reset peer cannot be asked even before): the server
   * asks for it when anyone listens for its 'connection' or 'disconnect'
   * events. Default true.
   */
  captureEndpoints?: boolean;
}

export interface TcpConnectionEvents {
  close: [error: Error | undefined];
  lineTooLong: [];
  idle: [];
  /** Reading stopped: the client is not taking its replies (backpressure). */
  paused: [];
  /** The client caught up; reading goes on. */
  resumed: [];
}

/**
 * EventEmitter without its constructor, as TcpConnection's base. The
 * constructor gives every instance a listener map (a dictionary object) and
 * four fields, about 200 bytes per connection, and most connections never
 * get a listener (the server hears them through ConnectionOwner).
 * EventEmitter's methods take an object whose constructor never ran, as
 * util.inherits-era subclasses that never called it are, and make the map
 * at its first listener; emit() with none returns false. Everything else of
 * EventEmitter (its prototype, so `instanceof`, and its statics) is there.
 */
function EventEmitterWithoutListenerMap(): void {}
EventEmitterWithoutListenerMap.prototype = EventEmitter.prototype;
Object.setPrototypeOf(EventEmitterWithoutListenerMap, EventEmitter);
const ConnectionEmitter = EventEmitterWithoutListenerMap as unknown as new () => EventEmitter<TcpConnectionEvents>;

export class TcpConnection extends ConnectionEmitter implements TransportSink, MemoryHolder {
  /**
   * What every connection's telnet session tells it: one object for all,
   * handed the connection back (and no method of the connection's by name).
   * Called synchronously inside [kReceive]().
   */
  private static readonly sessionSink: SessionSink<TcpConnection> = {
    lineTooLong(connection) {
      connection.linesTooLong++;
      connection.writeNotice(lineTooLongNotice(connection.context.limits.maxLineLength));
      connection.context.owner?.[kConnectionLimit]?.(connection, "line-too-long");
      connection.emit("lineTooLong");
    },
  };

  /** When the connection was accepted, in ms since CLOCK_BASE (see connectedAt). */
  private readonly acceptedAt = sinceBase(Date.now());
  // The counters behind `stats`, as plain fields: no object of their own per connection.
  private bytesIn = 0;
  private bytesOut = 0;
  private linesTooLong = 0;
  /**
   * The endpoints, looked up on first use (two syscalls and four objects
   * that most connections never need), or at accept when capture was asked
   * for: see the constructor.
   */
  private localValue: Endpoint | undefined;
  private remoteValue: Endpoint | undefined;
  /** Encoder, limits, owner and tracer: shared by every connection of the owner. */
  private readonly context: ConnectionContext;

  private readonly transport: Transport;
  /**
   * Telnet commands, line editing, echo and framing: all of the input side
   * beyond plain lines. Made at the first byte that needs it (see
   * receiveInput()): a client that only ever sends whole plain lines, as nc,
   * scripts and load tools do, never needs one.
   */
  private session: TelnetSession<TcpConnection> | null = null;
  private readonly batch: OutputBatch;
  /** The state and the flags above (OPEN, PAUSED, TOUCHED, ...). */
  private flags = OPEN;
  /**
   * Input read but not yet fed to the protocol, because its output would
   * not have fit under maxUnsentBytes: a copy (the transport's read buffer
   * is shared), fed first once the client has taken its replies.
   */
  private heldInput: Buffer | null = null;
  private closeError: Error | undefined;
  /**
   * Idle bookkeeping for [kSweepIdle]() beside the TOUCHED flag: the time of
   * the sweep that last saw activity, and the unsent byte count it saw (a
   * change means writes completed or were queued: the client is taking its
   * replies).
   */
  private quietSince = this.acceptedAt;
  private unsentAtSweep = 0;
  /** The memory budget's record of what it charged this connection (client-memory.ts keeps it). */
  [kMemoryCharge] = 0;

  /** @param transport not started yet: the connection starts it. */
  constructor(transport: Transport, options: TcpConnectionOptions) {
    super();
    this.transport = transport;
    this.context = options.context;
    this.remoteValue = options.remote;
    if (options.captureEndpoints ?? true) {
      void this.local;
      void this.remote;
    }
    // The spare output buffer only where writes usually go out at once.
    this.batch = new OutputBatch(options.context.encoder, transport.name === "handle");
    transport.start(this);
  }

  /** When the connection was accepted (ms since the epoch). */
  get connectedAt(): number {
    return CLOCK_BASE + this.acceptedAt;
  }

  /** The server's end of the connection. */
  get local(): Endpoint {
    return (this.localValue ??= this.transport.localEndpoint());
  }

  /** The client's end of the connection. */
  get remote(): Endpoint {
    return (this.remoteValue ??= this.transport.remoteEndpoint());
  }

  /** What carries the bytes: libuv's TCP handle, or a net.Socket / TLSSocket ("stream"). */
  get transportName(): TransportName {
    return this.transport.name;
  }

  /** The traffic so far: a snapshot. */
  get stats(): ConnectionStats {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, lines: this.batch.replyCount, linesTooLong: this.linesTooLong };
  }

  get state(): ConnectionState {
    return STATE_NAMES[this.flags & STATE_BITS]!;
  }

  /** Reply bytes accepted by write() but not yet handed to the kernel. */
  get unsentBytes(): number {
    return this.transport.unsentBytes;
  }

  /** Whether the server echoes what the client types (a character-mode telnet agreed to WILL ECHO). */
  get echoing(): boolean {
    return this.session !== null && this.session.echoing;
  }

  /** Whether reading is paused until the client takes its replies. */
  get isPausedForBackpressure(): boolean {
    return (this.flags & PAUSED) !== 0;
  }

  override toString(): string {
    return `${this.remote} -> ${this.local}`;
  }

  /**
   * Graceful end: replies already owed go out (they were written as their
   * lines arrived), then the notice, then our FIN. Input read but held back
   * for backpressure is answered first, whatever the bound: every line the
   * server has read gets its reply. Input from now on is read and dropped so
   * that the client's FIN can still be seen.
   */
  shutdown(notice: Buffer = SHUTDOWN_NOTICE): void {
    this.sayGoodbye(notice, true);
  }

  /** Drops the connection now, without a goodbye. */
  destroy(): void {
    this.heldInput = null;
    this.transport.destroy();
  }

  // MemoryHolder: called by the client memory budget.

  /**
   * Evicted by the memory budget: like shutdown(), but input held back is
   * dropped, not answered (answering it is what would need the memory).
   */
  [kEvict](heldBytes: number): void {
    this.heldInput = null;
    this.sayGoodbye(clientMemoryNotice(heldBytes), false);
  }

  /** Everything held for this client right now. */
  get [kHeldBytes](): number {
    if ((this.flags & STATE_BITS) === CLOSED) return 0;
    const transport = this.transport;
    return (
      transport.heldOutputBytes +
      transport.bufferedInputBytes +
      (this.heldInput === null ? 0 : this.heldInput.length) +
      (this.session === null ? 0 : this.session.pendingByteCount)
    );
  }

  /** Told to go already. */
  get [kIsLeaving](): boolean {
    return (this.flags & STATE_BITS) !== OPEN;
  }

  // TransportSink: called by the transport.

  /** Bytes from the client: every byte of input passes here, once. */
  [kReceive](chunk: Buffer): void {
    // Input counts as activity in every state, as it did for socket.setTimeout.
    this.flags |= TOUCHED;
    if ((this.flags & STATE_BITS) !== OPEN) return;
    this.bytesIn += chunk.length;
    if (this.context.trace !== undefined) this.context.trace.received(this, chunk);
    if (this.heldInput !== null) {
      // Reading was stopped, but a transport may have had this chunk in hand already.
      this.heldInput = Buffer.concat([this.heldInput, chunk]);
      return;
    }
    const rest = this.feed(chunk, false);
    if (rest !== null) {
      // A copy: the chunk may be the transport's shared read buffer.
      this.heldInput = Buffer.from(rest);
      this.pauseForBackpressure();
    }
    const budget = this.context.limits.memoryBudget;
    // The state passed, not asked for: no getter call per read.
    if (budget !== null) budget.recharge(this, (this.flags & STATE_BITS) !== OPEN);
  }

  /** The client half-closed: answer its last unterminated line, then finish. */
  [kReceiveEnd](): void {
    this.flags |= TOUCHED;
    if ((this.flags & STATE_BITS) !== OPEN) return;
    this.answerHeldInput();
    // With no session nothing is pending: the fast path holds no unfinished line.
    this.session?.finish();
    this.flush();
    this.setState(ENDING);
    this.transport.end();
  }

  /** The transport took every byte after a write() that returned false: held input first, then reading again. */
  [kDrained](): void {
    this.flags |= TOUCHED;
    if ((this.flags & STATE_BITS) === OPEN && this.heldInput !== null) {
      // The rest is a view of our own copy.
      this.heldInput = this.feed(this.heldInput, false);
      // Its output reached the bound again: wait for the next drain.
      if (this.heldInput !== null || this.outputBudget() === 0) return;
    }
    if ((this.flags & PAUSED) !== 0) {
      this.flags &= ~PAUSED;
      this.transport.resumeReading();
      this.emit("resumed");
    }
    this.context.limits.memoryBudget?.recharge(this);
  }

  /**
   * Called by the owner's periodic sweep (NameEchoServer: every quarter of
   * the idle timeout, at most 1 s apart), with the sweep's clock.
   * No activity since the last sweep for idleMs: idle(). The timeout thus
   * fires between idleMs and idleMs + one sweep interval after the last
   * activity. A client told to go lingers instead (see lingerMs): it is
   * destroyed after lingerMs without taking any of its bytes; returns true
   * then.
   */
  [kSweepIdle](now: number, idleMs: number): boolean {
    const unsent = this.transport.unsentBytes;
    // Unsent bytes also shrink with no event to report it (the kernel took them): bring the budget up to date.
    if (this[kMemoryCharge] !== 0) this.context.limits.memoryBudget?.recharge(this);
    if ((this.flags & LINGERING) !== 0) {
      // What it sends now is dropped and buys no time; taking our bytes does.
      this.flags &= ~TOUCHED;
      if (unsent !== this.unsentAtSweep) {
        this.unsentAtSweep = unsent;
        this.quietSince = sinceBase(now);
        return false;
      }
      if (sinceBase(now) - this.quietSince < this.context.limits.lingerMs) return false;
      this.destroy();
      return true;
    }
    if (idleMs <= 0) return false;
    if ((this.flags & TOUCHED) !== 0 || unsent !== this.unsentAtSweep) {
      this.flags &= ~TOUCHED;
      this.unsentAtSweep = unsent;
      this.quietSince = sinceBase(now);
      return false;
    }
    if (sinceBase(now) - this.quietSince < idleMs) return false;
    // The next quiet period (the one that ends in destroy()) starts now.
    this.quietSince = sinceBase(now);
    this.idle();
    return false;
  }

  /** No traffic for idleTimeoutSeconds. */
  private idle(): void {
    const state = this.flags & STATE_BITS;
    if (state === OPEN && (this.flags & PAUSED) !== 0) {
      // Not one reply taken for a whole idle period: a notice queued behind
      // its unread replies would never be read, and waiting another period
      // keeps megabytes parked in kernel socket buffers. Drop it now.
      this.context.owner?.[kConnectionLimit]?.(this, "idle-timeout");
      this.emit("idle");
      this.transport.destroy();
    } else if (state === OPEN) {
      this.context.owner?.[kConnectionLimit]?.(this, "idle-timeout");
      this.emit("idle");
      this.shutdown(idleNotice(this.context.limits.idleTimeoutSeconds));
    } else {
      // Already saying goodbye and still nothing moved: the client is gone or stuck.
      this.transport.destroy();
    }
  }

  /** The transport failed (a reset, a write error); [kClosed]() follows. */
  [kFailed](error: Error): void {
    this.closeError ??= error;
  }

  [kClosed](): void {
    this.setState(CLOSED);
    this.heldInput = null;
    if (this[kMemoryCharge] !== 0) this.context.limits.memoryBudget?.release(this);
    this.context.owner?.[kConnectionClosed](this, this.closeError);
    this.emit("close", this.closeError);
  }

  /** Every byte of output leaves here: whatever the protocol gathered since the last flush, in one write. */
  private flush(): void {
    const bytes = this.batch.take();
    if (bytes === null) return;
    this.flags |= TOUCHED;
    this.bytesOut += bytes.length;
    if (this.context.trace !== undefined) this.context.trace.sent(this, bytes);
    // write() returns false once the transport holds more unsent bytes than
    // maxUnsentBytes: stop reading this client until it has taken its
    // replies ([kDrained]()), so its memory stays bounded.
    const keepReading = this.transport.write(bytes);
    // Taken whole by the kernel (and not kept by a trace): the next read's replies reuse the buffer.
    releaseOutput(bytes, !this.transport.holdsLastWrite && this.context.trace === undefined);
    if (!keepReading) this.pauseForBackpressure();
  }

  /**
   * A notice (line too long, idle, shutting down, evicted), said on the
   * server's own initiative: through the session, so that it starts on a
   * fresh line of a character-mode user's screen and its 0xFF bytes (none
   * today) are doubled.
   */
  private writeNotice(notice: Buffer): void {
    if (this.session !== null) this.session.notice(notice);
    else this.batch.add(escapeIAC(notice));
  }

  /** How many more output bytes the protocol may produce before the bound is reached. */
  private outputBudget(): number {
    return Math.max(0, this.context.limits.maxUnsentBytes - this.transport.unsentBytes);
  }

  /**
   * Feeds input to the protocol as far as its output fits under the bound
   * (or all of it, `ignoreBound`), writing the output as it goes. Returns
   * the part not taken, a view of `input`, or null when all was taken. While
   * the kernel takes the output at once, the budget comes back and feeding
   * goes on; it stops when the unsent bytes reach the bound (a write() then
   * returned false, so [kDrained]() will follow).
   */
  private feed(input: Buffer, ignoreBound: boolean): Buffer | null {
    let rest = input;
    for (;;) {
      const budget = ignoreBound ? Number.MAX_SAFE_INTEGER : this.outputBudget();
      const used = budget > 0 ? this.receiveInput(rest, budget) : 0;
      this.flush();
      if (used >= rest.length) return null;
      rest = rest.subarray(used);
      if (used === 0 || this.outputBudget() === 0) return rest;
    }
  }

  /**
   * Input to the protocol, as TelnetSession.receive() takes it (returns how
   * much was taken). Before there is a session, the plain lines at the start
   * are answered by the fast path, as the session itself would (it starts
   * the same way): the session is made only when a byte needs it.
   */
  private receiveInput(input: Buffer, budget: number): number {
    if (this.session !== null) return this.session.receive(input, budget);
    const batch = this.batch;
    if (batch.length >= budget) return 0;
    const stop = answerPlainLines(input, 0, batch, this.context.limits.maxLineLength, budget);
    if (stop === input.length || (stop >= 0 && batch.length >= budget)) return stop;
    // Something for the session, if only the start of a line to keep.
    const used = stop < 0 ? ~stop : stop;
    this.session = this.newSession();
    return used + this.session.receive(input.subarray(used), budget);
  }

  private newSession(): TelnetSession<TcpConnection> {
    return new TelnetSession(TcpConnection.sessionSink, this, this.batch, this.context.limits.maxLineLength);
  }

  /**
   * Input held back for backpressure, answered whatever the bound: the
   * connection is ending. That is the rest of a read not yet fed, and what
   * the transport read ahead while paused (net.Socket's buffer).
   */
  private answerHeldInput(): void {
    const readAhead = this.transport.takeBufferedInput();
    if (readAhead !== null) {
      this.bytesIn += readAhead.length;
      if (this.context.trace !== undefined) this.context.trace.received(this, readAhead);
    }
    let held = this.heldInput;
    this.heldInput = null;
    if (readAhead !== null) held = held === null ? readAhead : Buffer.concat([held, readAhead]);
    if (held !== null) this.feed(held, true);
  }

  /**
   * The goodbye: the notice after every reply owed, then our FIN, then the
   * linger ([kSweepIdle]). `answerHeld`: answer input held back first (a
   * graceful stop, idle), or not (eviction, which already dropped it).
   */
  private sayGoodbye(notice: Buffer, answerHeld: boolean): void {
    const state = this.flags & STATE_BITS;
    if (state === CLOSING || state === CLOSED) return;
    const wasEnding = state === ENDING;
    if (!wasEnding && answerHeld) this.answerHeldInput();
    this.setState(CLOSING);
    // The linger starts now: a client that takes nothing of what it is
    // owed for lingerMs is dropped.
    this.flags |= LINGERING;
    this.quietSince = sinceBase(Date.now());
    if (!wasEnding && this.transport.writable) {
      this.writeNotice(notice);
      this.flush();
      this.transport.end();
    }
    this.unsentAtSweep = this.transport.unsentBytes;
    // Read on: the FIN that lets the socket close must not sit behind paused input.
    if (!wasEnding) this.resumeReading();
    this.context.limits.memoryBudget?.recharge(this);
  }

  private setState(state: number): void {
    this.flags = (this.flags & ~STATE_BITS) | state;
  }

  private pauseForBackpressure(): void {
    if ((this.flags & PAUSED) !== 0) return;
    this.flags |= PAUSED;
    this.transport.pauseReading();
    this.emit("paused");
  }

  private resumeReading(): void {
    this.flags &= ~PAUSED;
    this.transport.resumeReading();
  }

  /**
   * The server's `offerEcho`: offer echo, suppress-go-ahead and NAWS before
   * the client says a word. Called once 'connection' has been heard, so a
   * trace shows the connection before its first bytes.
   */
  [kOfferEcho](): void {
    // The offer makes the connection a telnet one from the start: it needs its session now.
    (this.session ??= this.newSession()).offerEcho();
    this.flush();
  }

  // Read-only views for the HTTP port (/connections).

  /** The line the client is typing, not yet ended (a copy, at most maxLineLength bytes). */
  pendingInput(): Buffer {
    return this.session === null ? Buffer.alloc(0) : this.session.pendingLine();
  }

  /**
   * Milliseconds since the last read or write, as the idle sweep sees it:
   * 0 if there was activity since its last pass, so the resolution is one
   * sweep interval. Meaningless when no sweep runs (idle timeout 0).
   */
  idleForMs(now: number): number {
    return (this.flags & TOUCHED) !== 0 ? 0 : Math.max(0, sinceBase(now) - this.quietSince);
  }
}
