/**
 * `name-echo/metrics`: Prometheus metrics for a NameEchoServer, and an HTTP
 * port that serves them (with health checks and the status page). A subpath
 * of its own because it loads prom-client, which `import "name-echo"` must
 * not (it adds ~90 ms to start-up): import it only where metrics are wanted.
 *
 *     import { instrumentServer, MetricsServer } from "name-echo/metrics";
 *     const http = new MetricsServer(server, instrumentServer(server), { port: 9100 });
 *     await http.listen();
 */
export { instrumentServer } from "./ops/metrics.js";
export type { MetricsOptions } from "./ops/metrics.js";
export { MetricsServer } from "./ops/http-server.js";
export type { MetricsServerOptions } from "./ops/http-server.js";
