/**
 * Prometheus metrics and health endpoints for a NameEchoServer.
 *
 * The server is observed from outside, through its events and the counters
 * every TcpConnection already keeps (stats): nothing here runs per line.
 * Lines and bytes are summed when Prometheus scrapes (closed connections'
 * totals, kept at disconnect, plus the open connections' stats right now),
 * so the hot path costs exactly what it cost before metrics existed.
 *
 * Endpoints (plain node:http, one small server):
 *   GET /metrics  Prometheus text format
 *   GET /healthz  200 while the process runs (liveness)
 *   GET /readyz   200 while accepting clients, 503 once stopping, so a load
 *                 balancer's health check drains this instance first
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { NameEchoError } from "../errors.js";
import { DEFAULTS } from "../options.js";
import type { NameEchoServer } from "../server/server.js";

export const DEFAULT_METRICS_HOST = DEFAULTS.metricsHost;

export interface MetricsOptions {
  /** Also export Node's process metrics (event-loop lag, memory, GC, fds). Default true. */
  defaultMetrics?: boolean;
  /** Registry to put the metrics in. Default: a new one. */
  registry?: Registry;
}

/** Totals of connections that have closed; the open ones are read live. */
interface Totals {
  lines: number;
  bytesIn: number;
  bytesOut: number;
  linesTooLong: number;
}

/** Registers name-echo's metrics for `server` and keeps them up to date. */
export function instrumentServer(server: NameEchoServer, options: MetricsOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const closed: Totals = { lines: 0, bytesIn: 0, bytesOut: 0, linesTooLong: 0 };

  /** closed totals plus what open connections have done so far: monotonic, as a counter must be. */
  const total = (key: keyof Totals): number => {
    let sum = closed[key];
    for (const connection of server.connections) sum += connection.stats[key];
    return sum;
  };
  // A counter whose value is read at scrape time: reset, then set to the running total.
  const liveCounter = (name: string, help: string, key: keyof Totals): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(total(key));
      },
    });
  };

  new Gauge({
    name: "name_echo_connections_open",
    help: "Clients connected right now.",
    registers: [registry],
    collect() {
      this.set(server.connections.size);
    },
  });
  const connectionsTotal = new Counter({
    name: "name_echo_connections_total",
    help: "Clients accepted since start (after any PROXY header and TLS handshake).",
    registers: [registry],
  });
  liveCounter("name_echo_lines_total", "Lines received and answered.", "lines");
  liveCounter("name_echo_received_bytes_total", "Bytes received from clients.", "bytesIn");
  liveCounter("name_echo_sent_bytes_total", "Bytes of replies and notices sent to clients.", "bytesOut");
  const rejectionCounts = new Map<string, number>([
    ["max-connections", 0],
    ["idle-timeout", 0],
    ["proxy-header", 0],
    ["tls-handshake", 0],
    ["max-connections-per-ip", 0],
    ["client-memory", 0],
  ]);
  const countRejection = (kind: string): void => {
    rejectionCounts.set(kind, (rejectionCounts.get(kind) ?? 0) + 1);
  };
  new Counter({
    name: "name_echo_limit_rejections_total",
    help: "Limits hit and clients turned away, by kind: max-connections, max-connections-per-ip, client-memory, line-too-long, idle-timeout, proxy-header, tls-handshake.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      // Over-long lines are counted by the connections themselves (stats.linesTooLong).
      this.reset();
      for (const [kind, count] of rejectionCounts) this.inc({ kind }, count);
      this.inc({ kind: "line-too-long" }, total("linesTooLong"));
    },
  });
  new Gauge({
    name: "name_echo_client_memory_bytes",
    help: "Bytes held for all clients together (unsent output, input not yet processed, pending lines), as counted against --max-client-memory.",
    registers: [registry],
    collect() {
      this.set(server.heldClientBytes);
    },
  });
  new Gauge({
    name: "name_echo_ready",
    help: "1 while the server accepts clients, 0 while starting or stopping.",
    registers: [registry],
    collect() {
      this.set(server.state === "listening" ? 1 : 0);
    },
  });

  server.on("connection", (connection) => {
    connectionsTotal.inc();
    // Once per connection, not per line.
    connection.once("idle", () => countRejection("idle-timeout"));
  });
  server.on("disconnect", (connection) => {
    // The server removed it from server.connections just before this event, so
    // its counts move from "open" to "closed" with nothing counted twice or lost.
    closed.lines += connection.stats.lines;
    closed.bytesIn += connection.stats.bytesIn;
    closed.bytesOut += connection.stats.bytesOut;
    closed.linesTooLong += connection.stats.linesTooLong;
  });
  server.on("rejected", (_remote, reason) => countRejection(reason));
  server.on("memoryFull", ({ told, dropped }) => {
    rejectionCounts.set("client-memory", (rejectionCounts.get("client-memory") ?? 0) + told + dropped);
  });
  return registry;
}

export interface MetricsServerOptions {
  host?: string;
  port: number;
}

/** The HTTP side: /metrics, /healthz, /readyz. */
export class MetricsServer {
  private readonly http: http.Server;
  private readonly host: string;
  private readonly port: number;

  constructor(server: NameEchoServer, registry: Registry, options: MetricsServerOptions) {
    this.host = options.host ?? DEFAULT_METRICS_HOST;
    this.port = options.port;
    this.http = http.createServer((request, response) => {
      void handle(server, registry, request, response);
    });
    // Scrapers keep connections alive; they must not hold up the process at exit.
    this.http.keepAliveTimeout = 5000;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once("error", (error: NodeJS.ErrnoException) => {
        const where = `${this.host.includes(":") ? `[${this.host}]` : this.host}:${this.port}`;
        const why = error.code === "EADDRINUSE" ? "the port is already in use" : (error.code ?? error.message);
        reject(new NameEchoError("ERR_ADDRESS_IN_USE", `metrics cannot listen on ${where}: ${why}; choose another --metrics-port (0 picks a free one)`, { cause: error }));
      });
      this.http.listen(this.port, this.host, () => resolve(this.http.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}

async function handle(server: NameEchoServer, registry: Registry, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("only GET\n");
    return;
  }
  switch (path) {
    case "/metrics": {
      try {
        const body = await registry.metrics();
        response.writeHead(200, { "content-type": registry.contentType }).end(body);
      } catch (error) {
        response.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${String(error)}\n`);
      }
      return;
    }
    case "/healthz":
      response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    case "/readyz": {
      const ready = server.state === "listening";
      response.writeHead(ready ? 200 : 503, { "content-type": "text/plain" }).end(ready ? "ready\n" : `not ready: ${server.state}\n`);
      return;
    }
    default:
      response.writeHead(404, { "content-type": "text/plain" }).end("not found; try /metrics, /healthz or /readyz\n");
  }
}
