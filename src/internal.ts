/**
 * The keys of the methods (and the one field) one part of name-echo uses on
 * another's objects and that are no part of the public API, as ws keeps its
 * cross-object state behind the symbols of one constants module.
 *
 * A TcpConnection is a public class, but most of what it does is called by
 * the parts around it: the transport hands it bytes, the memory budget asks
 * what it holds (and keeps its charge on it), the server's sweep its idle
 * time. Those methods are keyed by these symbols rather than by names: they
 * do not show up in autocomplete, in the declaration a user reads, or in
 * Object.keys(), and nobody outside can call them by accident. They cost
 * nothing: a symbol-keyed method lives on the prototype like a named one
 * (no per-connection object, as a private controller would be), and a call
 * with a constant symbol key is optimised exactly as a named call.
 */

// TransportSink (server/transport/transport.ts): what a transport reports to.
export const kReceive: unique symbol = Symbol("receive");
export const kReceiveEnd: unique symbol = Symbol("receiveEnd");
export const kDrained: unique symbol = Symbol("drained");
export const kFailed: unique symbol = Symbol("failed");
export const kClosed: unique symbol = Symbol("closed");

// MemoryHolder (server/client-memory.ts): what the client memory budget needs of a connection.
export const kHeldBytes: unique symbol = Symbol("heldBytes");
export const kIsLeaving: unique symbol = Symbol("isLeaving");
export const kMemoryCharge: unique symbol = Symbol("memoryCharge");
export const kEvict: unique symbol = Symbol("evict");

// The server's one sweep over its connections (idle timeouts, lingers).
export const kSweepIdle: unique symbol = Symbol("sweepIdle");

// The server's offer of echo to a client that just connected (the offerEcho option).
export const kOfferEcho: unique symbol = Symbol("offerEcho");

// ConnectionOwner (server/connection.ts), ProxyHeaderOwner (server/preamble.ts)
// and the turned-away clients: what a NameEchoServer is told by its parts.
export const kConnectionClosed: unique symbol = Symbol("connectionClosed");
export const kConnectionLimit: unique symbol = Symbol("connectionLimit");
export const kProxyHeaderRead: unique symbol = Symbol("proxyHeaderRead");
export const kProxyHeaderFailed: unique symbol = Symbol("proxyHeaderFailed");
export const kTurnedAwayClosed: unique symbol = Symbol("turnedAwayClosed");
