/**
 * The seam between a connection and its socket, as in Twisted: the
 * connection (TcpConnection) never sees a socket, only a Transport; the
 * transport never sees the protocol, only a TransportSink to report to.
 *
 * Two implementations:
 *   - HandleTransport (handle.ts): plain TCP straight on libuv's TCP handle;
 *     one read buffer shared by every connection, direct writes. The default.
 *   - StreamTransport (stream.ts): a net.Socket or tls.TLSSocket. For TLS
 *     (and a PROXY header before it), and any Node on which the handle's
 *     internal bindings are missing.
 *
 * Every callback into the sink is synchronous from an I/O event; the sink
 * may call back into the transport from inside any of them.
 */
import type { Endpoint } from "../../endpoint.js";
import { kClosed, kDrained, kFailed, kReceive, kReceiveEnd } from "../../internal.js";

/** The transports a server can serve with; "auto" picks handle where it can. */
export type TransportName = "handle" | "stream";
export type TransportChoice = TransportName | "auto";
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ["auto", "handle", "stream"];

/**
 * What a transport reports to (TcpConnection, and the PROXY header reader
 * and turned-away clients before it). Symbol-keyed (internal.ts): they are
 * TcpConnection's methods, and no part of its API.
 */
export interface TransportSink {
  /**
   * Bytes from the peer. Valid only during the call: the handle transport
   * reads every connection into one shared buffer, so whatever is kept
   * must be copied.
   */
  [kReceive](chunk: Buffer): void;
  /** The peer half-closed (FIN): nothing more will be received. */
  [kReceiveEnd](): void;
  /** A write() that returned false has drained: every byte is with the kernel. */
  [kDrained](): void;
  /** Something failed (a reset, a write error); [kClosed]() follows. */
  [kFailed](error: Error): void;
  /** The transport is closed, for whatever reason; no call follows. */
  [kClosed](): void;
}

export interface Transport {
  readonly name: TransportName;
  /**
   * Starts delivering to `sink` (reading starts). Called again, it hands
   * the transport over to another sink: after a PROXY header, from the
   * header reader to the connection.
   */
  start(sink: TransportSink): void;
  /**
   * Queues bytes for the peer. Returns whether reading may go on: false once
   * more than the transport's bound (maxUnsentBytes) is unsent; [kDrained]()
   * is then called when everything is out.
   */
  write(bytes: Buffer): boolean;
  /** Stops reading from the peer (backpressure) until resumeReading(). */
  pauseReading(): void;
  resumeReading(): void;
  /**
   * Our FIN, after every queued byte. The transport closes once both sides
   * have ended; reading goes on meanwhile, so the peer's FIN is seen.
   */
  end(): void;
  /** Closes now; queued bytes are dropped. */
  destroy(): void;
  /**
   * Whether the transport still refers to the buffer last given to write():
   * false when the kernel took every byte at once, so the caller may reuse it.
   */
  readonly holdsLastWrite: boolean;
  /** Bytes written but not yet taken by the kernel. */
  readonly unsentBytes: number;
  /**
   * The memory kept alive for those bytes: at least unsentBytes, more where a
   * buffer the kernel took part of (or one with room to spare) is kept whole
   * until its write completes. What the client memory budget counts.
   */
  readonly heldOutputBytes: number;
  /**
   * Input read from the socket but not yet given to [kReceive]() because
   * reading is paused (net.Socket reads ahead into its buffer after pause();
   * libuv's handle does not, so 0 there).
   */
  readonly bufferedInputBytes: number;
  /** Takes that input without delivering it (a graceful stop answers it); null when there is none. */
  takeBufferedInput(): Buffer | null;
  /** Whether write() may still be called (not ended, not closed). */
  readonly writable: boolean;
  /** The two ends, as the socket reports them; "unknown:0" once it cannot tell (closed, reset). */
  localEndpoint(): Endpoint;
  remoteEndpoint(): Endpoint;
}
