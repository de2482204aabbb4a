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
export type { ConnectionState, ConnectionStats } from "./server/connection.js";
export { Endpoint } from "./endpoint.js";
export type { AddressFamily } from "./endpoint.js";
export { NameEchoError } from "./errors.js";
export type { NameEchoErrorCode } from "./errors.js";
export { DEFAULTS, MAX_NAME_BYTES } from "./options.js";
export { LineFramer } from "./protocol/line-framer.js";
export type { LineSink } from "./protocol/line-framer.js";
export { ReplyBatch, ReplyEncoder } from "./protocol/reply.js";
