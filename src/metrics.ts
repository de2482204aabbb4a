/**
 * `name-echo/metrics`: Prometheus metrics for a NameEchoServer, and an HTTP
 * port that serves them with health checks, /connections, /status and the
 * status page (StatusServer; MetricsServer is its old name). A subpath
 * of its own because it loads prom-client, which `import "name-echo"` must
 * not (it adds ~90 ms to start-up): import it only where metrics are wanted.
 *
 *     import { instrumentServer, StatusServer } from "name-echo/metrics";
 *     const http = new StatusServer(server, instrumentServer(server), { port: 9100 });
 *     await http.listen();
 */
export { instrumentServer } from "./ops/metrics.js";
export type { MetricsOptions } from "./ops/metrics.js";
export { MetricsServer, StatusServer } from "./ops/http-server.js";
export type { MetricsServerOptions, StatusServerOptions } from "./ops/http-server.js";
