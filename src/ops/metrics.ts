/**
 * Prometheus metrics for a NameEchoServer (prom-client). The HTTP port that
 * serves them is http-server.ts; both are the library's `name-echo/metrics`
 * (src/metrics.ts).
 *
 * The server is observed from outside, through its events and the counters
 * every TcpConnection already keeps (stats): nothing here runs per line.
 * Lines and bytes are summed when Prometheus scrapes (closed connections'
 * totals, kept at disconnect, plus the open connections' stats right now),
 * so the hot path costs exactly what it cost before metrics existed.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { NameEchoServer } from "../server/server.js";
import { ServerCounters } from "./status.js";

export interface MetricsOptions {
  /** The totals to read, when shared with the status page. Default: new ones for this server. */
  counters?: ServerCounters;
  /** Also export Node's process metrics (event-loop lag, memory, GC, fds). Default true. */
  defaultMetrics?: boolean;
  /** Registry to put the metrics in. Default: a new one. */
  registry?: Registry;
}

/** Registers name-echo's metrics for `server` and keeps them up to date. */
export function instrumentServer(server: NameEchoServer, options: MetricsOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const counters = options.counters ?? new ServerCounters(server);

  // A counter whose value is read at scrape time: reset, then set to the running total.
  const liveCounter = (name: string, help: string, key: "lines" | "bytesIn" | "bytesOut"): void => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(counters.traffic(key));
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
  new Counter({
    name: "name_echo_connections_total",
    help: "Clients accepted since start (after any PROXY header and TLS handshake).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(counters.accepted);
    },
  });
  liveCounter("name_echo_lines_total", "Lines received and answered.", "lines");
  liveCounter("name_echo_received_bytes_total", "Bytes received from clients.", "bytesIn");
  liveCounter("name_echo_sent_bytes_total", "Bytes of replies and notices sent to clients.", "bytesOut");
  new Counter({
    name: "name_echo_limit_rejections_total",
    help: "Limits hit and clients turned away, by kind: max-connections, max-connections-per-ip, client-memory, line-too-long, idle-timeout, proxy-header, tls-handshake.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      // Over-long lines are counted by the connections themselves (stats.linesTooLong).
      this.reset();
      for (const [kind, count] of counters.rejectionCounts()) this.inc({ kind }, count);
      this.inc({ kind: "line-too-long" }, counters.traffic("linesTooLong"));
    },
  });
  new Gauge({
    name: "name_echo_client_memory_bytes",
    help: "Bytes held for all clients together (unsent output, input not yet processed, pending lines), as counted against the client memory budget (maxClientMemory).",
    registers: [registry],
    collect() {
      this.set(server.heldClientBytes);
    },
  });
  new Gauge({
    name: "name_echo_ready",
    help: "1 while the server accepts clients, 0 while starting or stopping.",
    registers: [registry],
    // With --workers: ready only if every worker is.
    aggregator: "min",
    collect() {
      this.set(server.state === "listening" ? 1 : 0);
    },
  });
  return registry;
}
