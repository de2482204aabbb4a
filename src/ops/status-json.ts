/**
 * The JSON the HTTP port serves (/status, /connections, /events), as types
 * only: what the server builds (status.ts, connections.ts, live-updates.ts)
 * and what the status page's script (page/script.ts, compiled for the
 * browser) reads are the same types, so a field renamed or added on one side
 * does not compile until the other side follows.
 *
 * Kept free of runtime imports: the page's build takes this file (and
 * endpoint.ts's types) without the server behind it.
 */
import type { EndpointJSON } from "../endpoint.js";

/** One row of /connections, and of the status page's table. */
export interface ConnectionInfo {
  /** Unique within the process, in order of arrival. */
  id: number;
  /** The cluster worker serving it (`serve --workers`); absent with one process. */
  worker?: number;
  remote: EndpointJSON;
  local: EndpointJSON;
  /** How the bytes travel (TcpConnection.transportName: "handle" or "stream"). */
  transport: string;
  tls: boolean;
  /** open; paused: not read until the client takes its replies (backpressure); closing: saying goodbye. */
  state: "open" | "paused" | "closing";
  telnet: {
    /** character: the server echoes and edits the line (the client sends each key); line: the client does. */
    mode: "character" | "line";
    echo: "server" | "client";
  };
  connectedForMs: number;
  /** Time since the last read or write, to within one idle sweep; null when the idle timeout is off (no sweep runs). */
  idleForMs: number | null;
  lines: number;
  linesTooLong: number;
  bytesIn: number;
  bytesOut: number;
  /** Reply bytes written but not yet taken by the kernel. */
  unsentBytes: number;
  /** Bytes of the line being typed (not yet ended). */
  pendingBytes: number;
  /**
   * That line as text (UTF-8, invalid bytes as U+FFFD, controls as \xHH and
   * text-direction or invisible characters as \uHHHH: escapeClientText), at
   * most PREVIEW_CHARACTERS: client-supplied, to be shown as text only.
   */
  typing: string;
}

/** Totals over the server's life: closed connections' counts kept at disconnect, plus the open ones' read now. */
export interface Totals {
  connectionsOpen: number;
  connectionsTotal: number;
  lines: number;
  bytesIn: number;
  bytesOut: number;
  linesTooLong: number;
  /** Clients turned away or closed by a limit, by kind (max-connections, idle-timeout, proxy-header, tls-handshake, …). */
  rejections: Record<string, number>;
}

/** GET /status, and the head of the status page. */
/** The limits /status shows; src/ops/status.ts holds them to the option table's rows at compile time. */
export interface StatusLimits {
  maxLineLength: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  idleTimeoutSeconds: number;
  maxUnsentBytes: number;
  maxClientMemory: number;
  shutdownTimeoutSeconds: number;
  lingerTimeoutSeconds: number;
  backlog: number;
  handshakeTimeoutSeconds: number;
}

export interface ServerStatus {
  name: string;
  /** Where clients connect, e.g. "127.0.0.1:8888"; null before listening. */
  address: string | null;
  state: string;
  tls: boolean;
  proxyProtocol: boolean;
  /** Processes serving (serve --workers), 1 otherwise. */
  workers: number;
  startedAt: number;
  uptimeMs: number;
  node: string;
  /** Every option the option table (src/options.ts) marks for /status, under the key its row gives. */
  limits: StatusLimits;
  totals: Totals;
}

/** One point of the status page's chart. */
export interface Sample {
  /** ms since the epoch */
  t: number;
  /** Lines answered per second since the previous sample. */
  linesPerSecond: number;
  connections: number;
}

/** One `update` event on GET /events: the status, the first rows of the table, and the chart's samples. */
export interface LiveUpdate {
  status: ServerStatus;
  /** At most PAGE_ROWS, oldest first. */
  connections: ConnectionInfo[];
  /** How many are open in all. */
  total: number;
  /** All the samples kept: the first update a page gets. */
  history?: Sample[];
  /** The newest sample, once a second. */
  sample?: Sample;
}
