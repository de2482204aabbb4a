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
 * Two ways in: runPreamble() works on a net.Socket (TLS needs one to wrap);
 * ProxyHeaderReader reads a PROXY header alone through a Transport, so a
 * server behind a load balancer without TLS keeps the handle transport, and
 * hands the same transport to the connection after the header.
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

export function runPreamble(raw: Socket, options: PreambleOptions, callbacks: PreambleCallbacks): void {
  let remote = Endpoint.from(raw.remoteAddress, raw.remotePort, raw.remoteFamily);
  let finished = false;
  let stage: PreambleFailure = options.proxyProtocol ? "proxy-header" : "tls-handshake";
  const timer = setTimeout(() => fail(stage, `no ${stage === "proxy-header" ? "PROXY header" : "TLS handshake"} within ${options.timeoutMs / 1000} s`), options.timeoutMs);

  function fail(reason: PreambleFailure, detail: string): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    raw.destroy();
    callbacks.failed(reason, detail, remote);
  }

  function done(socket: Socket): void {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.removeListener("error", onError);
    callbacks.ready(socket, remote);
  }

  const onError = (error: Error): void => fail(stage, (error as NodeJS.ErrnoException).code ?? error.message);
  const onClose = (): void => fail(stage, "closed by the peer first");
  raw.on("error", onError);
  raw.once("close", onClose);

  const startTls = (): void => {
    if (!options.secureContext) {
      raw.removeListener("close", onClose);
      done(raw);
      // The connection's listeners are on now; let the bytes (and any given back) flow.
      raw.resume();
      return;
    }
    stage = "tls-handshake";
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: options.secureContext });
    secure.on("error", onError);
    secure.once("secure", () => {
      raw.removeListener("close", onClose);
      raw.removeListener("error", onError);
      secure.removeListener("error", onError);
      done(secure);
    });
  };

  if (!options.proxyProtocol) {
    startTls();
    return;
  }

  const parser = new ProxyHeaderParser(options.maxProxyHeaderBytes);
  const onData = (chunk: Buffer): void => {
    const result = parser.push(chunk);
    if (result.status === "more") return;
    raw.removeListener("data", onData);
    raw.removeListener("end", onEnd);
    if (result.status === "error") {
      fail("proxy-header", `${result.reason} (first bytes: "${escapeClientBytes(chunk, 32)}")`);
      return;
    }
    if (result.header.source) remote = result.header.source;
    // Stop the flow until the next reader is attached, and give back the
    // client's bytes that came in the same segment as the header.
    raw.pause();
    if (result.rest.length > 0) raw.unshift(result.rest);
    startTls();
  };
  const onEnd = (): void => fail("proxy-header", "the peer closed before sending a complete PROXY header");
  raw.on("data", onData);
  raw.on("end", onEnd);
}

/** Where a ProxyHeaderReader reports: one object per server, told which reader it is. */
export interface ProxyHeaderOwner {
  /** The header is read: `transport` (still reading) belongs to the caller now; `rest` came after the header. */
  [kProxyHeaderRead](reader: ProxyHeaderReader, transport: Transport, remote: Endpoint, rest: Buffer): void;
  /** No valid header: the transport is being destroyed. */
  [kProxyHeaderFailed](reader: ProxyHeaderReader, detail: string, remote: Endpoint): void;
}

/**
 * Reads a PROXY header through a transport (handle or stream), as
 * runPreamble() does on a socket, with the same deadline and the same
 * failure details. The parser copies what it keeps, so the handle
 * transport's shared read buffer is safe here too.
 */
export class ProxyHeaderReader implements TransportSink {
  private readonly transport: Transport;
  private readonly owner: ProxyHeaderOwner;
  private readonly parser: ProxyHeaderParser;
  private readonly timer: NodeJS.Timeout;
  private remote: Endpoint;
  private finished = false;

  constructor(transport: Transport, options: PreambleOptions, owner: ProxyHeaderOwner) {
    this.transport = transport;
    this.owner = owner;
    this.parser = new ProxyHeaderParser(options.maxProxyHeaderBytes);
    this.remote = transport.remoteEndpoint();
    this.timer = setTimeout(headerTimedOut, options.timeoutMs, this, `no PROXY header within ${options.timeoutMs / 1000} s`);
    transport.start(this);
  }

  /** Drops the client (the server is closing); reported as a failed header. */
  destroy(): void {
    this.fail("closed by the server while waiting for the header");
  }

  [kReceive](chunk: Buffer): void {
    if (this.finished) return;
    const result = this.parser.push(chunk);
    if (result.status === "more") return;
    if (result.status === "error") {
      this.fail(`${result.reason} (first bytes: "${escapeClientBytes(chunk, 32)}")`);
      return;
    }
    if (result.header.source) this.remote = result.header.source;
    this.finished = true;
    clearTimeout(this.timer);
    this.owner[kProxyHeaderRead](this, this.transport, this.remote, result.rest);
  }

  [kReceiveEnd](): void {
    this.fail("the peer closed before sending a complete PROXY header");
  }

  [kDrained](): void {}

  [kFailed](error: Error): void {
    this.fail((error as NodeJS.ErrnoException).code ?? error.message);
  }

  [kClosed](): void {
    this.fail("closed by the peer first");
  }

  /** @internal */
  fail(detail: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.transport.destroy();
    this.owner[kProxyHeaderFailed](this, detail, this.remote);
  }
}

function headerTimedOut(reader: ProxyHeaderReader, detail: string): void {
  reader.fail(detail);
}
