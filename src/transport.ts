/**
 * Opening the client side of a connection, plain TCP or TLS, for
 * NameEchoClient and `name-echo connect --tls`. One function, so the client
 * code never branches on TLS beyond passing the option through: the socket
 * it gets back behaves the same either way (TLSSocket is a net.Socket).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { explainClientError, NameEchoError } from "./errors.js";

export interface TransportOptions {
  /**
   * TLS: true for the defaults (verify the server against the system's CAs,
   * plus NODE_EXTRA_CA_CERTS), or tls.connect() options such as `ca` (a
   * private CA or a self-signed certificate) or `rejectUnauthorized: false`.
   */
  tls?: boolean | tls.ConnectionOptions;
  /** Give up connecting (and handshaking) after this many milliseconds. Default 10,000. */
  timeoutMs?: number;
}

/** Resolves once the socket is connected (and, with TLS, the handshake verified). */
export function openSocket(host: string, port: number, options: TransportOptions = {}): Promise<net.Socket> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const useTls = options.tls !== undefined && options.tls !== false;
    const tlsOptions = typeof options.tls === "object" ? options.tls : {};
    const socket: net.Socket = useTls
      ? // SNI only for names: sending an IP address as servername is not allowed.
        tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...tlsOptions })
      : net.connect({ host, port });
    const ready = useTls ? "secureConnect" : "connect";
    const timer = setTimeout(() => fail(new NameEchoError("ERR_TIMEOUT", `no connection to ${where} within ${timeoutMs / 1000} s`)), timeoutMs);
    function fail(error: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    socket.once("error", (error: NodeJS.ErrnoException) => fail(explainConnectError(error, where, useTls)));
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

/** TLS failures here; the system errors of any connect are put into words by explainClientError, the same for TCP and TLS. */
function explainConnectError(error: NodeJS.ErrnoException, where: string, usingTls: boolean): Error {
  switch (error.code) {
    case "ECONNRESET":
      if (!usingTls) return explainClientError(error, where) as Error;
      return new NameEchoError("ERR_TLS", `${where} closed the connection during the TLS handshake: is it serving TLS?`, { cause: error });
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_HAS_EXPIRED":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return new NameEchoError(
        "ERR_TLS",
        `the certificate of ${where} is not trusted (${error.code}); give its CA with NODE_EXTRA_CA_CERTS=FILE, or connect by the name it was issued for`,
        { cause: error },
      );
    default:
      if (usingTls && (error.code?.startsWith("ERR_SSL") || error.code?.startsWith("ERR_TLS") || /SSL|TLS/.test(error.message))) {
        return new NameEchoError("ERR_TLS", `TLS with ${where} failed: ${error.message}; is it serving TLS?`, { cause: error });
      }
      return explainClientError(error, where) as Error;
  }
}
