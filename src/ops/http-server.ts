/**
 * The HTTP port (`serve --http-port`): plain node:http, one small server.
 *
 *   GET /             the live status page (status-page.ts)
 *   GET /events       its Server-Sent Events feed (live-updates.ts)
 *   GET /status       the server, its limits and totals, as JSON
 *   GET /connections  one JSON object per open connection (connections.ts)
 *   GET /metrics      Prometheus text format (metrics.ts)
 *   GET /healthz      200 while the process runs (liveness)
 *   GET /readyz       200 while accepting clients, 503 once stopping, so a load
 *                     balancer's health check drains this instance first
 *
 * It is for the operator: bound to 127.0.0.1 unless told otherwise. On
 * loopback it also answers only requests addressed to a loopback name
 * (Host: 127.0.0.1, localhost, [::1]; health checks excepted), so a web page
 * the operator happens to visit cannot read it through DNS rebinding (a
 * hostile name re-pointed at 127.0.0.1 passes the browser's same-origin
 * check, but not this one).
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { explainListenError } from "../errors.js";
import { DEFAULTS } from "../options.js";
import type { NameEchoServer } from "../server/server.js";
import { LiveUpdates } from "./live-updates.js";
import { STATUS_PAGE, STATUS_PAGE_HEADERS } from "./status-page.js";
import { LocalView, type OpsView } from "./view.js";

export const DEFAULT_HTTP_HOST = DEFAULTS.httpHost;

export interface OpsHttpServerOptions {
  host?: string;
  port: number;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" };
const TEXT_HEADERS = { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" };

export class OpsHttpServer {
  readonly view: OpsView;
  private readonly http: http.Server;
  private readonly host: string;
  private readonly port: number;
  private readonly live: LiveUpdates;

  constructor(view: OpsView, options: OpsHttpServerOptions) {
    this.view = view;
    this.host = options.host ?? DEFAULT_HTTP_HOST;
    this.port = options.port;
    this.live = new LiveUpdates(view);
    this.http = http.createServer((request, response) => {
      void this.handle(request, response);
    });
    // Scrapers keep connections alive; they must not hold up the process at exit.
    this.http.keepAliveTimeout = 5000;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      // In the server's words, about this server's own port and host options: a port in use, a host
      // that is not this machine's, a port that needs privileges; anything else as it came.
      this.http.once("error", (error) => reject(explainListenError(error, this.host, this.port, "the HTTP port")));
      this.http.listen(this.port, this.host, () => {
        this.live.start();
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.live.close();
    return new Promise((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (isLoopbackHost(this.host) && !HEALTH_PATHS.has(url.pathname) && !addressedToLoopback(request.headers.host)) {
      response.writeHead(403, TEXT_HEADERS).end("this port answers on loopback names only (127.0.0.1, localhost, [::1])\n");
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD", ...TEXT_HEADERS }).end("only GET\n");
      return;
    }
    try {
      switch (url.pathname) {
        case "/":
          response.writeHead(200, STATUS_PAGE_HEADERS).end(STATUS_PAGE);
          return;
        case "/events":
          this.live.watch(request, response);
          return;
        case "/status":
          response.writeHead(200, JSON_HEADERS).end(`${JSON.stringify(await this.view.status(), null, 2)}\n`);
          return;
        case "/connections": {
          const limit = url.searchParams.get("limit");
          const list = await this.view.connections(limit !== null && /^\d+$/.test(limit) ? Number(limit) : undefined);
          response.writeHead(200, { ...JSON_HEADERS, "x-total-count": String(list.total) });
          response.end(`${JSON.stringify(list.connections, null, 1)}\n`);
          return;
        }
        case "/metrics": {
          const { contentType, body } = await this.view.metrics();
          response.writeHead(200, { "content-type": contentType }).end(body);
          return;
        }
        case "/healthz":
          response.writeHead(200, TEXT_HEADERS).end("ok\n");
          return;
        case "/readyz": {
          const { ready, state } = await this.view.readiness();
          response.writeHead(ready ? 200 : 503, TEXT_HEADERS).end(ready ? "ready\n" : `not ready: ${state}\n`);
          return;
        }
        default:
          response.writeHead(404, TEXT_HEADERS).end("not found; try /, /connections, /status, /metrics, /healthz or /readyz\n");
      }
    } catch (error) {
      if (!response.headersSent) response.writeHead(500, TEXT_HEADERS);
      response.end(`${url.pathname} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/** Health checks reveal nothing worth a rebinding attack, and load balancers send any Host. */
const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);

/**
 * Whether a request's Host names loopback. No Host at all (HTTP/1.0: a
 * health checker or script) is fine too: a browser always sends one, and a
 * rebound page's is the attacker's name.
 */
function addressedToLoopback(header: string | undefined): boolean {
  if (header === undefined) return true;
  const v6 = /^\[([^\]]*)\]/.exec(header);
  return isLoopbackHost(v6 ? v6[1]! : header.replace(/:\d*$/, ""));
}

function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(name) || name === "::1";
}

export interface StatusServerOptions extends OpsHttpServerOptions {}

/**
 * The HTTP port for one server: its metrics (in `registry`, from
 * instrumentServer), health, /connections, /status and the status page.
 */
export class StatusServer extends OpsHttpServer {
  constructor(server: NameEchoServer, registry: Registry, options: StatusServerOptions) {
    super(new LocalView(server, registry), options);
  }
}

/** @deprecated The old name of StatusServer (it serves the status page too, not only metrics). */
export const MetricsServer = StatusServer;
/** @deprecated The old name of StatusServerOptions. */
export type MetricsServerOptions = StatusServerOptions;
