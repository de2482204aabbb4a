/**
 * The public surface of name-echo: the classes the README's library section
 * documents and the types of their options, events and results; nothing
 * else (the protocol, transports and CLI are internal and may change).
 *
 * Metrics are the subpath `name-echo/metrics` (metrics.ts), so that
 * importing the server does not load prom-client.
 */
export { NameEchoServer } from "./server/server.js";
export type {
  ListeningAddress,
  NameEchoServerEvents,
  NameEchoServerOptions,
  RejectReason,
  ResolvedServerOptions,
  ServerState,
  StopReport,
} from "./server/server.js";
export type { EvictionReport } from "./server/client-memory.js";
export type { TransportChoice, TransportName } from "./server/transport/transport.js";
export { TcpConnection } from "./server/connection.js";
export type { ConnectionLimitKind, ConnectionState, ConnectionStats, TcpConnectionEvents, WireTraceSink } from "./server/connection.js";
export { Endpoint } from "./endpoint.js";
export type { AddressFamily } from "./endpoint.js";
export { NameEchoError } from "./errors.js";
export type { NameEchoErrorCode } from "./errors.js";
export { DEFAULTS } from "./options.js";
export { NameEchoClient } from "./client/client.js";
export type { ClientState, ClientTarget, NameEchoClientEvents, NameEchoClientOptions } from "./client/client.js";
