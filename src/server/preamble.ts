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
 * The whole preamble runs against one deadline rather than an idle timer, so
 * a peer that dribbles one byte a second cannot stretch it.
 */
import * as tls from "node:tls";
import type { Socket } from "node:net";
import { Endpoint } from "../endpoint.js";
import { ProxyHeaderParser } from "../protocol/proxy-protocol.js";
import { escapeClientBytes } from "../escape.js";

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
    if (result.header.source) {
      const { address, port, family } = result.header.source;
      remote = new Endpoint(address, port, family);
    }
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
