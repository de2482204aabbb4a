/**
 * What the server has done so far, for /metrics, the status page and its
 * chart: totals kept from the server's events (once per connection, never
 * per line), the server's settings, and a short history of samples.
 */
import { SERVER_OPTION_TABLE, type OptionRow, type StatusLimitKey } from "../options.js";
import type { NameEchoServer } from "../server/server.js";
import type { Sample, ServerStatus, StatusLimits, Totals } from "./status-json.js";

// The JSON's types live in status-json.ts, which the status page's script is built against too.
export type { Sample, ServerStatus, StatusLimits, Totals } from "./status-json.js";

type TrafficKey = "lines" | "bytesIn" | "bytesOut" | "linesTooLong";

/** Keeps a server's totals from its events; the hot path is not touched. */
export class ServerCounters {
  private readonly server: NameEchoServer;
  private readonly closed: Record<TrafficKey, number> = { lines: 0, bytesIn: 0, bytesOut: 0, linesTooLong: 0 };
  private connectionsTotal = 0;
  private readonly rejections = new Map<string, number>([
    ["max-connections", 0],
    ["idle-timeout", 0],
    ["proxy-header", 0],
    ["tls-handshake", 0],
    ["max-connections-per-ip", 0],
    ["client-memory", 0],
  ]);

  constructor(server: NameEchoServer) {
    this.server = server;
    server.on("connection", () => {
      this.connectionsTotal++;
    });
    // The server's one 'limit' event, not a listener (and a closure) on every connection.
    server.on("limit", (_connection, kind) => {
      if (kind === "idle-timeout") this.countRejection(kind);
    });
    server.on("disconnect", (connection) => {
      // The server removed it from server.connections just before this event, so
      // its counts move from "open" to "closed" with nothing counted twice or lost.
      const stats = connection.stats;
      this.closed.lines += stats.lines;
      this.closed.bytesIn += stats.bytesIn;
      this.closed.bytesOut += stats.bytesOut;
      this.closed.linesTooLong += stats.linesTooLong;
    });
    server.on("rejected", (_remote, reason) => this.countRejection(reason));
    server.on("memoryFull", ({ told, dropped }) => {
      this.rejections.set("client-memory", (this.rejections.get("client-memory") ?? 0) + told + dropped);
    });
  }

  /** Closed connections' total plus what the open ones have done so far: monotonic, as a counter must be. */
  traffic(key: TrafficKey): number {
    let sum = this.closed[key];
    for (const connection of this.server.connections) sum += connection.stats[key];
    return sum;
  }

  /** Turned-away and limit counts by kind; over-long lines are counted by the connections themselves. */
  rejectionCounts(): Map<string, number> {
    return this.rejections;
  }

  get accepted(): number {
    return this.connectionsTotal;
  }

  totals(): Totals {
    // One pass over the open connections for all four sums.
    let { lines, bytesIn, bytesOut, linesTooLong } = this.closed;
    for (const connection of this.server.connections) {
      const stats = connection.stats;
      lines += stats.lines;
      bytesIn += stats.bytesIn;
      bytesOut += stats.bytesOut;
      linesTooLong += stats.linesTooLong;
    }
    const rejections: Record<string, number> = Object.fromEntries(this.rejections);
    rejections["line-too-long"] = linesTooLong;
    return {
      connectionsOpen: this.server.connections.size,
      connectionsTotal: this.connectionsTotal,
      lines,
      bytesIn,
      bytesOut,
      linesTooLong,
      rejections,
    };
  }

  private countRejection(kind: string): void {
    this.rejections.set(kind, (this.rejections.get(kind) ?? 0) + 1);
  }
}

/** Each option /status shows, and the key it shows it under. */
const STATUS_ROWS = Object.entries<OptionRow>(SERVER_OPTION_TABLE).flatMap(([option, row]) =>
  row.status === undefined ? [] : [[option as keyof typeof SERVER_OPTION_TABLE, row.status] as const],
);

/** A server's limits as /status shows them. */
export function statusLimits(server: NameEchoServer): StatusLimits {
  const options = server.options;
  return Object.fromEntries(STATUS_ROWS.map(([option, key]) => [key, options[option]])) as unknown as StatusLimits;
}

/**
 * status-json.ts spells the limits out (the page's build cannot read the
 * option table): this fails to compile when the two differ, either way.
 */
type SameKeys<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const statusLimitsFollowTheTable: SameKeys<keyof StatusLimits, StatusLimitKey> = true;
void statusLimitsFollowTheTable;

export function serverStatus(server: NameEchoServer, counters: ServerCounters, startedAt: number): ServerStatus {
  const options = server.options;
  const now = Date.now();
  return {
    name: options.name,
    address: server.address?.toString() ?? null,
    state: server.state,
    tls: options.tls !== undefined,
    proxyProtocol: options.proxyProtocol,
    workers: 1,
    startedAt,
    uptimeMs: now - startedAt,
    node: process.version,
    limits: statusLimits(server),
    totals: counters.totals(),
  };
}

/** The last `capacity` samples (a ring), oldest first when read. */
export class SampleHistory {
  private readonly samples: Sample[] = [];
  private readonly capacity: number;
  private last: { t: number; lines: number } | null = null;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Records the totals at time t; the rate is from the previous call. */
  add(t: number, lines: number, connections: number): Sample {
    const previous = this.last;
    const seconds = previous ? (t - previous.t) / 1000 : 0;
    const linesPerSecond = previous && seconds > 0 ? Math.max(0, (lines - previous.lines) / seconds) : 0;
    this.last = { t, lines };
    const sample = { t, linesPerSecond: Math.round(linesPerSecond * 10) / 10, connections };
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
    return sample;
  }

  list(): Sample[] {
    return this.samples.slice();
  }
}
