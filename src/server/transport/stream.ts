/**
 * The stream transport: a connection over a net.Socket, or a tls.TLSSocket
 * (which is one). Used for TLS (and a PROXY header before it), and wherever
 * the handle transport's bindings are missing (see bindings.ts).
 *
 * Listeners are module-level functions that find their transport through a
 * symbol on the socket (as ws does), so a connection costs no closures.
 */
import type { Socket } from "node:net";
import { Endpoint } from "../../endpoint.js";
import { kClosed, kDrained, kFailed, kReceive, kReceiveEnd } from "../../internal.js";
import type { Transport, TransportSink } from "./transport.js";

const kTransport = Symbol("name-echo transport");

type SocketWithTransport = Socket & { [kTransport]?: StreamTransport };

/**
 * The sockets' highWaterMark (the server's net.createServer option sets it
 * for both directions), kept small for its read side: after pause() a
 * net.Socket goes on reading until its buffer holds this much, and one read
 * may add up to 64 KiB more. The write side's bound is maxUnsentBytes,
 * checked in write().
 */
export const STREAM_READ_AHEAD_BYTES = 16 * 1024;

export class StreamTransport implements Transport {
  // A getter, not a field: one word less per connection.
  get name(): "stream" {
    return "stream";
  }

  private readonly socket: SocketWithTransport;
  private readonly maxUnsentBytes: number;
  private sink!: TransportSink;

  /**
   * @param socket made with allowHalfOpen (we end our side ourselves) and a
   *   highWaterMark of at most min(STREAM_READ_AHEAD_BYTES, maxUnsentBytes).
   * @param maxUnsentBytes write() returns false past this many unsent bytes.
   */
  constructor(socket: Socket, maxUnsentBytes: number) {
    this.socket = socket as SocketWithTransport;
    this.maxUnsentBytes = maxUnsentBytes;
  }

  start(sink: TransportSink): void {
    const handOver = this.sink !== undefined;
    this.sink = sink;
    if (handOver) return;
    const socket = this.socket;
    socket[kTransport] = this;
    socket.setNoDelay(true);
    socket.on("data", socketOnData);
    socket.on("end", socketOnEnd);
    socket.on("drain", socketOnDrain);
    socket.on("error", socketOnError);
    socket.on("close", socketOnClose);
  }

  write(bytes: Buffer): boolean {
    const socket = this.socket;
    // Only a false from socket.write() promises a 'drain'; past its
    // highWaterMark the bound is ours. (A TLSSocket's own highWaterMark may
    // be above maxUnsentBytes: then that is the bound.)
    return socket.write(bytes) || socket.writableLength < this.maxUnsentBytes;
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  end(): void {
    if (this.socket.writable) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** A net.Socket may keep any buffer it was given (its write queue, writev). */
  get holdsLastWrite(): boolean {
    return true;
  }

  get heldOutputBytes(): number {
    return this.socket.writableLength;
  }

  get writable(): boolean {
    return this.socket.writable;
  }

  get bufferedInputBytes(): number {
    return this.socket.readableLength;
  }

  takeBufferedInput(): Buffer | null {
    const socket = this.socket;
    if (socket.readableLength === 0) return null;
    // read() would also emit it as 'data' (to us): taken, not delivered.
    socket.off("data", socketOnData);
    const taken = socket.read() as Buffer | null;
    socket.on("data", socketOnData);
    return taken;
  }

  localEndpoint(): Endpoint {
    const socket = this.socket;
    return Endpoint.from(socket.localAddress, socket.localPort, socket.localFamily);
  }

  remoteEndpoint(): Endpoint {
    const socket = this.socket;
    return Endpoint.from(socket.remoteAddress, socket.remotePort, socket.remoteFamily);
  }

  /** @internal for the socket listeners below */
  static sinkOf(socket: SocketWithTransport): TransportSink {
    return socket[kTransport]!.sink;
  }
}

function socketOnData(this: SocketWithTransport, chunk: Buffer): void {
  StreamTransport.sinkOf(this)[kReceive](chunk);
}

function socketOnEnd(this: SocketWithTransport): void {
  StreamTransport.sinkOf(this)[kReceiveEnd]();
}

function socketOnDrain(this: SocketWithTransport): void {
  StreamTransport.sinkOf(this)[kDrained]();
}

function socketOnError(this: SocketWithTransport, error: Error): void {
  StreamTransport.sinkOf(this)[kFailed](error);
}

function socketOnClose(this: SocketWithTransport): void {
  StreamTransport.sinkOf(this)[kClosed]();
}
