/**
 * The client side of a connection, plain TCP or TLS: the one way every
 * client in the project connects (NameEchoClient, `name-echo connect` and
 * its --raw mode, `name-echo bench`). The socket it resolves to behaves the
 * same either way (a TLSSocket is a net.Socket), so no caller branches on
 * TLS beyond passing the option through, and a failed connect reads the same
 * from every one of them.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Endpoint } from "../endpoint.js";
import { explainClientError, NameEchoError } from "../errors.js";

export interface ConnectOptions {
  /**
   * TLS: true for the defaults (verify the server against the system's CAs,
   * plus NODE_EXTRA_CA_CERTS), or tls.connect() options such as `ca` (a
   * private CA or a self-signed certificate) or `rejectUnauthorized: false`.
   */
  tls?: boolean | tls.ConnectionOptions | undefined;
  /** Give up connecting (and handshaking) after this many milliseconds; 0 waits as long as the system does. Default 10,000. */
  timeoutMs?: number;
  /** Plain TCP only: keep reading after our side has sent FIN (a raw client half-closes when its input ends). */
  allowHalfOpen?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Resolves once the socket is connected (and, with TLS, the handshake verified); fails with a NameEchoError that says what to do. */
export function openConnection(target: Endpoint, options: ConnectOptions = {}): Promise<net.Socket> {
  const { address: host, port } = target;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const where = target.toString();
  const useTls = options.tls !== undefined && options.tls !== false;
  return new Promise((resolve, reject) => {
    const socket: net.Socket = useTls
      ? // SNI only for names: sending an IP address as servername is not allowed.
        tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...(typeof options.tls === "object" ? options.tls : {}) })
      : net.connect({ host, port, allowHalfOpen: options.allowHalfOpen ?? false });
    const timer =
      timeoutMs === 0
        ? undefined
        : setTimeout(
            () =>
              fail(
                new NameEchoError(
                  "ERR_TIMEOUT",
                  `cannot connect to ${where}: no answer in ${timeoutMs / 1000} seconds; check the host, port and any firewall`,
                ),
              ),
            timeoutMs,
          );
    function fail(error: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    }
    const onError = (error: NodeJS.ErrnoException): void => fail(explainConnectError(error, where, useTls));
    socket.once("error", onError);
    socket.once(useTls ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
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
