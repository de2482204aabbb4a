/** The public surface of name-echo. */
export { NameEchoServer, resolveServerOptions } from "./server/server.js";
export type {
  ListeningAddress,
  NameEchoServerEvents,
  NameEchoServerOptions,
  RejectReason,
  ResolvedServerOptions,
  ServerState,
} from "./server/server.js";
export { TcpConnection } from "./server/connection.js";
export type { ConnectionLimitKind, ConnectionState, ConnectionStats, WireTraceSink } from "./server/connection.js";
export { Endpoint } from "./endpoint.js";
export type { AddressFamily } from "./endpoint.js";
export { NameEchoError } from "./errors.js";
export type { NameEchoErrorCode } from "./errors.js";
export { DEFAULTS, MAX_NAME_BYTES } from "./options.js";
export { LineFramer } from "./protocol/line-framer.js";
export type { LineSink } from "./protocol/line-framer.js";
export { ReplyBatch, ReplyEncoder } from "./protocol/reply.js";
export { instrumentServer, MetricsServer } from "./ops/metrics.js";
export type { MetricsOptions, MetricsServerOptions } from "./ops/metrics.js";
export { ProxyHeaderParser, encodeProxyV1, encodeProxyV2 } from "./protocol/proxy-protocol.js";
export type { ProxyHeader, ProxyAddress, ProxyParseResult } from "./protocol/proxy-protocol.js";
export { TelnetSession } from "./protocol/telnet-session.js";
export { TelnetParser, MAX_SUBNEGOTIATION_BYTES } from "./protocol/telnet-parser.js";
export type { TelnetEventSink } from "./protocol/telnet-parser.js";
export { TelnetOptions } from "./protocol/telnet-options.js";
export type { NegotiationOutput } from "./protocol/telnet-options.js";
export { NameEchoClient } from "./client/client.js";
export type { ClientState, ClientTarget, NameEchoClientEvents, NameEchoClientOptions } from "./client/client.js";
