/**
 * The open connections as JSON, like Redis's CLIENT LIST: `GET /connections`
 * and the rows of the status page.
 *
 * Computed when asked, from fields every TcpConnection keeps anyway (its
 * counters, state, the idle sweep's bookkeeping): nothing is recorded per
 * line or per chunk to make this possible. Ids are given out here, once per
 * connection, when the server announces it.
 */
import { escapeClientText } from "../escape.js";
import type { TcpConnection } from "../server/connection.js";
import type { NameEchoServer } from "../server/server.js";
import type { ConnectionInfo } from "./status-json.js";

// The JSON's type lives in status-json.ts, which the status page's script is built against too.
export type { ConnectionInfo } from "./status-json.js";

/** How much of a pending line the JSON shows. */
export const PREVIEW_CHARACTERS = 80;
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Client bytes as text that cannot drive a terminal or reorder the page: escaped (escape.ts), cut at PREVIEW_CHARACTERS. */
export function previewText(bytes: Uint8Array): string {
  const text = decoder.decode(bytes.subarray(0, PREVIEW_CHARACTERS * 4));
  const escaped = escapeClientText(text);
  const characters = Array.from(escaped);
  return characters.length > PREVIEW_CHARACTERS ? `${characters.slice(0, PREVIEW_CHARACTERS).join("")}…` : escaped;
}

/**
 * Ids for the connections of one server: a number each, given when the
 * server emits 'connection' (or, for one accepted before this was attached,
 * when it is first listed).
 */
export class ConnectionIds {
  private next = 1;
  private readonly ids = new WeakMap<TcpConnection, number>();

  constructor(server: NameEchoServer) {
    server.on("connection", (connection) => this.of(connection));
  }

  of(connection: TcpConnection): number {
    let id = this.ids.get(connection);
    if (id === undefined) {
      id = this.next++;
      this.ids.set(connection, id);
    }
    return id;
  }
}

/** One connection as /connections shows it, at time `now` (ms since the epoch). */
export function connectionInfo(connection: TcpConnection, id: number, now: number, idleSwept: boolean, tls: boolean): ConnectionInfo {
  const stats = connection.stats;
  const state = connection.state;
  const echoing = connection.echoing;
  const pending = connection.pendingInput();
  return {
    id,
    remote: connection.remote.toJSON(),
    local: connection.local.toJSON(),
    transport: connection.transportName,
    tls,
    state: state === "closing" || state === "closed" ? "closing" : connection.isPausedForBackpressure ? "paused" : "open",
    telnet: { mode: echoing ? "character" : "line", echo: echoing ? "server" : "client" },
    connectedForMs: Math.max(0, now - connection.connectedAt),
    idleForMs: idleSwept ? connection.idleForMs(now) : null,
    lines: stats.lines,
    linesTooLong: stats.linesTooLong,
    bytesIn: stats.bytesIn,
    bytesOut: stats.bytesOut,
    unsentBytes: connection.unsentBytes,
    pendingBytes: pending.length,
    typing: previewText(pending),
  };
}

/** The server's open connections, oldest first; at most `limit` of them. */
export function listConnections(server: NameEchoServer, ids: ConnectionIds, limit = Infinity): ConnectionInfo[] {
  const now = Date.now();
  const idleSwept = server.options.idleTimeout > 0;
  const tls = server.options.tls !== undefined;
  const list: ConnectionInfo[] = [];
  for (const connection of server.connections) {
    if (list.length >= limit) break;
    list.push(connectionInfo(connection, ids.of(connection), now, idleSwept, tls));
  }
  return list;
}
