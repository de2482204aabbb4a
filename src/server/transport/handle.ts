/**
 * The handle transport: plain TCP straight on libuv's TCP handle, the object
 * a net.Socket wraps, without the net.Socket (see bindings.ts for why and how
 * that is kept safe).
 *
 * - Accepting: the listening net.Server still binds, listens and reports
 *   errors (and shares the port in a cluster), but its handle's onconnection
 *   is ours, so an accepted handle never becomes a net.Socket.
 * - Reading: every connection reads into ONE buffer shared by the process.
 *   Safe because the protocol code copies whatever it keeps before onread
 *   returns (TransportSink[kReceive]), and libuv reads one handle at a time.
 * - Writing: writeBuffer() straight to the handle. libuv first tries to
 *   write at once; only when the kernel does not take every byte is the
 *   request queued ("async"), so one spare request object serves every
 *   synchronous write in the process and a new one is made only after an
 *   asynchronous one. Unsent bytes are the handle's writeQueueSize; the
 *   memory they keep alive (heldOutputBytes) is counted per request.
 * - Ending: shutdown() sends our FIN after the queued writes; the handle is
 *   closed as soon as both sides have ended, with no round trip more. When
 *   the peer has ended first and nothing is queued, close() alone does it.
 *
 * Like the stream transport, a connection costs no closures: the handle's
 * callbacks are module-level functions that find their transport through a
 * symbol on the handle.
 */
import type * as net from "node:net";
import { Endpoint } from "../../endpoint.js";
import { kClosed, kDrained, kFailed, kReceive, kReceiveEnd } from "../../internal.js";
import { type HandleBindings, type ShutdownRequest, type SocketAddress, systemError, type TcpHandle, type WriteRequest } from "./bindings.js";
import type { Transport, TransportSink } from "./transport.js";

const kTransport = Symbol("name-echo transport");

type OwnedHandle = TcpHandle & { [kTransport]?: HandleTransport };

/** Bytes read per read call: what node:net uses, and more than a client's lines usually fill. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Process-wide state, set up by the first takeAcceptedHandles(): the
 * bindings, the shared read buffer, and the spare write request.
 */
let bindings: HandleBindings;
let readBuffer: Buffer;
/**
 * The last view of readBuffer handed to a sink, kept for the next read of
 * the same length: a client's reads are often all the same size (one line
 * each), and the view is a new object each time otherwise. Sinks keep no
 * chunk past the call, so sharing it is as safe as sharing the buffer.
 */
let readView: Buffer;
let spareWriteRequest: WriteRequest;
/** Whether the last write() of any handle transport left its buffer with a request in flight (one at a time: JS is single-threaded). */
let lastWriteHeld = false;

// Transport flags, one small integer per connection instead of a field each.
/** readStart() is in effect. */
const READING = 1 << 0;
/** The sink asked to stop reading (pauseReading) and has not asked to go on. */
const PAUSED = 1 << 1;
/** The peer's FIN was read. */
const PEER_ENDED = 1 << 2;
/** end() was called: our shutdown is requested (or done). */
const ENDING = 1 << 3;
/** Our shutdown completed: our FIN is out. */
const ENDED = 1 << 4;
/** A write() returned false: call drained() when the queue is empty. */
const NEED_DRAIN = 1 << 5;
/** close() was called on the handle: nothing more is reported but closed(). */
const CLOSING = 1 << 6;
/**
 * An asynchronous write was queued and writeQueueSize has not been seen at 0
 * since. While clear, nothing is queued (every write so far went out at
 * once), so the queue's size, a call into C++, need not be asked.
 */
const QUEUED = 1 << 7;

/** What every handle transport of one server shares: one object, not a field each. */
export interface HandleTransportSettings {
  /** write() returns false past this many unsent bytes. */
  readonly maxUnsentBytes: number;
  /**
   * The local end of every connection, when the server listens on one
   * address (not 0.0.0.0 or ::): known without asking, and one object for all.
   */
  readonly local: Endpoint | null;
}

export class HandleTransport implements Transport {
  // A getter, not a field: one word less per connection.
  get name(): "handle" {
    return "handle";
  }

  private readonly handle: OwnedHandle;
  private readonly settings: HandleTransportSettings;
  private sink!: TransportSink;
  private flags = 0;
  /** The memory the write requests in flight keep alive. */
  private heldOutput = 0;

  constructor(handle: TcpHandle, settings: HandleTransportSettings) {
    this.handle = handle;
    this.settings = settings;
    // Here rather than in start(): a transport destroyed before it starts still hears its close.
    this.handle[kTransport] = this;
  }

  start(sink: TransportSink): void {
    const handOver = this.sink !== undefined;
    this.sink = sink;
    if (handOver) return;
    const handle = this.handle;
    handle.onread = onHandleRead;
    handle.useUserBuffer(readBuffer);
    handle.setNoDelay(true);
    this.startReading();
  }

  write(bytes: Buffer): boolean {
    // Refused or failed: nothing refers to it.
    lastWriteHeld = false;
    if ((this.flags & (ENDING | CLOSING)) !== 0) return false;
    // Behind a queue libuv does not try the kernel: these bytes will wait whole, for as long as the
    // client does not read. They wait in a buffer of their own size, not in the one they were
    // gathered in (up to twice as big, and the process's spare): a client that does not read holds
    // about what it is owed, and the next read's replies are gathered without a new allocation.
    const queued = (this.flags & QUEUED) !== 0;
    const copied = queued && this.handle.writeQueueSize > 0 && allocationOf(bytes) > bytes.length;
    const written = copied ? Buffer.from(bytes) : bytes;
    const request = spareWriteRequest;
    const status = this.handle.writeBuffer(request, written);
    if (status < 0) {
      this.fail(systemError(status, "write"));
      return false;
    }
    if (bindings.lastWriteWasAsync()) {
      // In flight: it must keep its bytes alive, and the next write needs another request.
      request.buffer = written;
      // All of it stays alive, even the part the kernel took: that is what the memory budget is charged.
      request.heldBytes = allocationOf(written);
      this.heldOutput += request.heldBytes;
      spareWriteRequest = newWriteRequest();
      lastWriteHeld = !copied;
      this.flags |= QUEUED;
    } else if (!queued) {
      // Out at once with nothing queued before it: nothing is unsent.
      return true;
    }
    if (this.handle.writeQueueSize < this.settings.maxUnsentBytes) return true;
    this.flags |= NEED_DRAIN;
    return false;
  }

  pauseReading(): void {
    this.flags |= PAUSED;
    if ((this.flags & READING) === 0) return;
    this.flags &= ~READING;
    this.handle.readStop();
  }

  resumeReading(): void {
    this.flags &= ~PAUSED;
    this.startReading();
  }

  end(): void {
    if ((this.flags & (ENDING | CLOSING)) !== 0) return;
    this.flags |= ENDING;
    if ((this.flags & (PEER_ENDED | QUEUED)) === PEER_ENDED) {
      // The peer has ended and every byte is with the kernel: closing the
      // socket sends our FIN after them just as a shutdown would (everything
      // it sent was read, so the kernel has no reason for a reset), without
      // a shutdown request and its round through the event loop.
      this.flags |= ENDED;
      this.close();
      return;
    }
    const request = bindings.newShutdownRequest();
    request.oncomplete = onShutdownComplete;
    const status = this.handle.shutdown(request);
    // ENOTCONN and the like: the peer is gone, there is nobody to send a FIN to.
    if (status < 0) this.close();
  }

  destroy(): void {
    this.close();
  }

  get unsentBytes(): number {
    return (this.flags & (CLOSING | QUEUED)) === QUEUED ? this.handle.writeQueueSize : 0;
  }

  get holdsLastWrite(): boolean {
    return lastWriteHeld;
  }

  get heldOutputBytes(): number {
    return (this.flags & CLOSING) !== 0 ? 0 : this.heldOutput;
  }

  get writable(): boolean {
    return (this.flags & (ENDING | CLOSING)) === 0;
  }

  /** readStop() stops libuv reading at once: nothing is read ahead of the sink. */
  get bufferedInputBytes(): number {
    return 0;
  }

  takeBufferedInput(): null {
    return null;
  }

  localEndpoint(): Endpoint {
    if (this.settings.local !== null) return this.settings.local;
    const out: SocketAddress = {};
    if ((this.flags & CLOSING) === 0) this.handle.getsockname(out);
    return Endpoint.from(out.address, out.port, out.family);
  }

  remoteEndpoint(): Endpoint {
    const out: SocketAddress = {};
    if ((this.flags & CLOSING) === 0) this.handle.getpeername(out);
    return Endpoint.from(out.address, out.port, out.family);
  }

  /** @internal onread: `nread` bytes are at the start of the shared read buffer, or an error/EOF code. */
  readDone(nread: number): void {
    if ((this.flags & CLOSING) !== 0) return;
    if (nread > 0) {
      if (readView.length !== nread) readView = readBuffer.subarray(0, nread);
      this.sink[kReceive](readView);
    } else if (nread === bindings.EOF) {
      // libuv stops reading at EOF by itself.
      this.flags = (this.flags | PEER_ENDED) & ~READING;
      this.sink[kReceiveEnd]();
      if ((this.flags & ENDED) !== 0) this.close();
    } else if (nread < 0) {
      this.fail(systemError(nread, "read"));
    }
  }

  /** @internal an asynchronous write finished, and its buffer of `heldBytes` is let go */
  writeDone(status: number, heldBytes: number): void {
    this.heldOutput -= heldBytes;
    if ((this.flags & CLOSING) !== 0) return;
    if (status < 0) {
      this.fail(systemError(status, "write"));
      return;
    }
    if (this.handle.writeQueueSize !== 0) return;
    this.flags &= ~QUEUED;
    if ((this.flags & NEED_DRAIN) !== 0) {
      this.flags &= ~NEED_DRAIN;
      this.sink[kDrained]();
    }
  }

  /** @internal our FIN is out (or could not be sent) */
  shutdownDone(status: number): void {
    if ((this.flags & CLOSING) !== 0) return;
    this.flags |= ENDED;
    // Both sides done, or ours failed (the peer is gone): nothing is left to wait for.
    if ((this.flags & PEER_ENDED) !== 0 || status < 0) this.close();
  }

  /** @internal the handle is closed */
  handleClosed(): void {
    // No sink: destroyed before it started (accepted while the server was closing).
    if (this.sink !== undefined) this.sink[kClosed]();
  }

  private startReading(): void {
    if ((this.flags & (READING | PAUSED | PEER_ENDED | CLOSING)) !== 0) return;
    const status = this.handle.readStart();
    if (status < 0) {
      this.fail(systemError(status, "read"));
      return;
    }
    this.flags |= READING;
  }

  private fail(error: Error): void {
    if ((this.flags & CLOSING) !== 0) return;
    this.sink[kFailed](error);
    this.close();
  }

  private close(): void {
    if ((this.flags & CLOSING) !== 0) return;
    this.flags = (this.flags | CLOSING) & ~READING;
    // Queued writes are cancelled; their completions are ignored from here on.
    this.handle.close(onHandleClosed);
  }
}

function transportOf(handle: OwnedHandle): HandleTransport {
  return handle[kTransport]!;
}

function onHandleRead(this: OwnedHandle): void {
  transportOf(this).readDone(bindings.readResult());
}

function onWriteComplete(this: WriteRequest, status: number, handle: OwnedHandle): void {
  this.buffer = null;
  transportOf(handle).writeDone(status, this.heldBytes ?? 0);
}

/**
 * The memory a buffer keeps alive: its whole allocation, which a buffer
 * gathered by doubling can have twice of; or its own length when it is a
 * slice of Node's shared pool (small buffers), whose room others use.
 */
function allocationOf(bytes: Buffer): number {
  return bytes.buffer.byteLength > Buffer.poolSize ? bytes.buffer.byteLength : bytes.length;
}

function onShutdownComplete(this: ShutdownRequest, status: number, handle: OwnedHandle): void {
  transportOf(handle).shutdownDone(status);
}

function onHandleClosed(this: OwnedHandle): void {
  transportOf(this).handleClosed();
}

function newWriteRequest(): WriteRequest {
  const request = bindings.newWriteRequest();
  request.oncomplete = onWriteComplete as WriteRequest["oncomplete"];
  request.buffer = null;
  return request;
}

/** Where accepted connections go: a transport not started yet, or a failed accept(). */
export interface HandleAcceptor {
  accepted(transport: HandleTransport): void;
  acceptFailed(error: Error): void;
}

/**
 * Takes over the accepting of a listening net.Server: each accepted handle
 * becomes a HandleTransport given to `acceptor` instead of a net.Socket
 * given to the server's 'connection' listeners. Returns null, or why it
 * cannot (the server's handle is not what bindings.ts expects); the server
 * then keeps making net.Sockets.
 */
export function takeAcceptedHandles(
  server: net.Server,
  handleBindings: HandleBindings,
  settings: HandleTransportSettings,
  acceptor: HandleAcceptor,
): string | null {
  const listening = handleBindings.listeningHandle(server);
  if (typeof listening === "string") return listening;
  if (bindings === undefined) {
    bindings = handleBindings;
    readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    readView = readBuffer;
    spareWriteRequest = newWriteRequest();
  }
  listening.onconnection = (status, handle) => {
    if (status < 0 || handle === undefined) acceptor.acceptFailed(systemError(status, "accept"));
    else acceptor.accepted(new HandleTransport(handle, settings));
  };
  return null;
}
