/**
 * What happens on a new socket before the line protocol starts: reading the
 * PROXY protocol header (when a load balancer sits in front) and the TLS
 * handshake (when the server has a certificate), in that order, because a
 * proxy writes its header in the clear before the client's TLS bytes.
 *
 * Kept apart from TcpConnection so the data path is untouched: the connection
 * is only built once the preamble is over, with the socket it should talk to
 * (the TLS socket, or the raw one) and the real client's address. A server
 * without PROXY protocol or TLS skips this module entirely.
 *
 * Two ways in, one PROXY header reader (ProxyHeaderReader): runPreamble()
 * works on a net.Socket (TLS needs one to wrap) and reads the header from the
 * raw socket; a PROXY header alone is read through a Transport, so a server
 * behind a load balancer without TLS keeps the handle transport, and hands
 * the same transport to the connection after the header.
 *
 * The whole preamble runs against one deadline rather than an idle timer, so
 * a peer that dribbles one byte a second cannot stretch it.
 */
import * as tls from "node:tls";
import type { Socket } from "node:net";
import { Endpoint } from "../endpoint.js";
import { ProxyHeaderParser } from "../protocol/proxy-protocol.js";
import { escapeClientBytes } from "../escape.js";
import { kClosed, kDrained, kFailed, kProxyHeaderFailed, kProxyHeaderRead, kReceive, kReceiveEnd } from "../internal.js";
import type { Transport, TransportSink } from "./transport/transport.js";

export interface PreambleOptions {
  /** Every connection must start with a PROXY protocol v1 or v2 header. */
  proxyProtocol: boolean;
  maxProxyHeaderBytes: number;
  /** TLS is on when a context is given. */
  secureContext: tls.SecureContext | undefined;
  /** Milliseconds for the header and the handshake together. */
  timeoutMs: number;
}

/** Why a socket did not make it to the data path. */
export type PreambleFailure = "proxy-header" | "tls-handshake";

export interface PreambleCallbacks {
  /** The line protocol may start on `socket`; `remote` is the real client. */
  ready(socket: Socket, remote: Endpoint): void;
  /** The socket has been destroyed; `remote` is the best address known. */
  failed(reason: PreambleFailure, detail: string, remote: Endpoint): void;
}

/**
 * What a failed preamble reports, in one place: the same words whichever
 * way the bytes came (a Transport, or the raw socket before TLS).
 */
const PEER_CLOSED = "closed by the peer first";
const PEER_ENDED_IN_HEADER = "the peer closed before sending a complete PROXY header";
const SERVER_CLOSED = "closed by the server while waiting for the header";
const socketFailed = (error: Error): string => (error as NodeJS.ErrnoException).code ?? error.message;
const badHeader = (reason: string, chunk: Buffer): string => `${reason} (first bytes: "${escapeClientBytes(chunk, 32)}")`;
const timedOut = (what: "PROXY header" | "TLS handshake", timeoutMs: number): string => `no ${what} within ${timeoutMs / 1000} s`;

export function runPreamble(raw: Socket, options: PreambleOptions, callbacks: PreambleCallbacks): void {
  if (!options.proxyProtocol) {
    startTls(raw, Endpoint.from(raw.remoteAddress, raw.remotePort, raw.remoteFamily), options, options.timeoutMs, callbacks);
    return;
  }
  // One deadline for the header and the handshake together: TLS gets what the header left.
  const started = Date.now();
  const source = new SocketHeaderSource(raw);
  const owner: ProxyHeaderOwner<SocketHeaderSource> = {
    [kProxyHeaderRead](_reader, _source, remote, rest) {
      source.release(rest);
      startTls(raw, remote, options, options.timeoutMs - (Date.now() - started), callbacks);
    },
    [kProxyHeaderFailed](_reader, detail, remote) {
      callbacks.failed("proxy-header", detail, remote);
    },
  };
  new ProxyHeaderReader(source, options, owner);
}

/** The TLS handshake on `raw` within `timeoutMs` (or, without TLS, the raw socket as it is). */
function startTls(raw: Socket, remote: Endpoint, options: PreambleOptions, timeoutMs: number, callbacks: PreambleCallbacks): void {
  if (!options.secureContext) {
    callbacks.ready(raw, remote);
    // The connection's listeners are on now; let the bytes (and any given back) flow.
    raw.resume();
    return;
  }
  let finished = false;
  const fail = (detail: string): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    raw.destroy();
    callbacks.failed("tls-handshake", detail, remote);
  };
  const timer = setTimeout(fail, Math.max(0, timeoutMs), timedOut("TLS handshake", options.timeoutMs));
  const onError = (error: Error): void => fail(socketFailed(error));
  const onClose = (): void => fail(PEER_CLOSED);
  raw.on("error", onError);
  raw.once("close", onClose);
  const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
  secure.on("error", onError);
  secure.once("secure", () => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    raw.removeListener("close", onClose);
    raw.removeListener("error", onError);
    secure.removeListener("error", onError);
    callbacks.ready(secure, remote);
  });
}

/** What a ProxyHeaderReader reads through: a Transport (which then carries the connection), or the raw socket before TLS. */
export interface HeaderSource {
  /** Delivers the peer's bytes and what happens to the socket to `sink`. */
  start(sink: TransportSink): void;
  destroy(): void;
  remoteEndpoint(): Endpoint;
}

/** Where a ProxyHeaderReader reports: one object per server, told which reader it is. */
export interface ProxyHeaderOwner<Source extends HeaderSource = Transport> {
  /** The header is read: `source` (still reading) belongs to the caller now; `rest` came after the header. */
  [kProxyHeaderRead](reader: ProxyHeaderReader<Source>, source: Source, remote: Endpoint, rest: Buffer): void;
  /** No valid header: the source is being destroyed. */
  [kProxyHeaderFailed](reader: ProxyHeaderReader<Source>, detail: string, remote: Endpoint): void;
}

/**
 * The one PROXY header reader: through a transport (handle or stream), or
 * for runPreamble() through the raw socket before TLS, with a deadline of
 * its own and the failure details above. The parser copies what it keeps,
 * so the handle transport's shared read buffer is safe here too.
 */
export class ProxyHeaderReader<Source extends HeaderSource = Transport> implements TransportSink {
  private readonly source: Source;
  private readonly owner: ProxyHeaderOwner<Source>;
  private readonly parser: ProxyHeaderParser;
  private readonly timer: NodeJS.Timeout;
  private remote: Endpoint;
  private finished = false;

  constructor(source: Source, options: Pick<PreambleOptions, "maxProxyHeaderBytes" | "timeoutMs">, owner: ProxyHeaderOwner<Source>) {
    this.source = source;
    this.owner = owner;
    this.parser = new ProxyHeaderParser(options.maxProxyHeaderBytes);
    this.remote = source.remoteEndpoint();
    this.timer = setTimeout(headerTimedOut, options.timeoutMs, this, timedOut("PROXY header", options.timeoutMs));
    source.start(this);
  }

  /** Drops the client (the server is closing); reported as a failed header. */
  destroy(): void {
    this.fail(SERVER_CLOSED);
  }

  [kReceive](chunk: Buffer): void {
    if (this.finished) return;
    const result = this.parser.push(chunk);
    if (result.status === "more") return;
    if (result.status === "error") {
      this.fail(badHeader(result.reason, chunk));
      return;
    }
    if (result.header.source) this.remote = result.header.source;
    this.finished = true;
    clearTimeout(this.timer);
    this.owner[kProxyHeaderRead](this, this.source, this.remote, result.rest);
  }

  [kReceiveEnd](): void {
    this.fail(PEER_ENDED_IN_HEADER);
  }

  [kDrained](): void {}

  [kFailed](error: Error): void {
    this.fail(socketFailed(error));
  }

  [kClosed](): void {
    this.fail(PEER_CLOSED);
  }

  /** @internal */
  fail(detail: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.source.destroy();
    this.owner[kProxyHeaderFailed](this, detail, this.remote);
  }
}

function headerTimedOut(reader: ProxyHeaderReader<HeaderSource>, detail: string): void {
  reader.fail(detail);
}

/**
 * The raw socket before TLS as a HeaderSource. Once the header is read it is
 * let go (release): paused, with the bytes after the header given back, for
 * the TLS socket to read. Its error and close listeners stay on after a
 * failure, so an error while it is destroyed is never unhandled.
 */
class SocketHeaderSource implements HeaderSource {
  private readonly socket: Socket;
  private sink!: TransportSink;
  private readonly onData = (chunk: Buffer): void => this.sink[kReceive](chunk);
  private readonly onEnd = (): void => this.sink[kReceiveEnd]();
  private readonly onError = (error: Error): void => this.sink[kFailed](error);
  private readonly onClose = (): void => this.sink[kClosed]();

  constructor(socket: Socket) {
    this.socket = socket;
  }

  start(sink: TransportSink): void {
    this.sink = sink;
    this.socket.on("data", this.onData).on("end", this.onEnd).on("error", this.onError).once("close", this.onClose);
  }

  release(rest: Buffer): void {
    const socket = this.socket;
    socket.removeListener("data", this.onData).removeListener("end", this.onEnd);
    socket.removeListener("error", this.onError).removeListener("close", this.onClose);
    // Stop the flow until the next reader is attached, and give back the
    // client's bytes that came in the same segment as the header.
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
  }

  destroy(): void {
    this.socket.destroy();
  }

  remoteEndpoint(): Endpoint {
    return Endpoint.from(this.socket.remoteAddress, this.socket.remotePort, this.socket.remoteFamily);
  }
}
