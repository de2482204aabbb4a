/**
 * What the HTTP port shows, behind one interface: one server in this process
 * (LocalView), or all the workers of `serve --workers` seen from the primary
 * (cluster-http.ts).
 */
import type { Registry } from "prom-client";
import type { NameEchoServer } from "../server/server.js";
import { ConnectionIds, type ConnectionInfo, listConnections } from "./connections.js";
import { ServerCounters, serverStatus, type ServerStatus } from "./status.js";

export interface ConnectionList {
  /** At most the limit asked for, oldest first. */
  connections: ConnectionInfo[];
  /** How many are open in all. */
  total: number;
}

export interface OpsView {
  /** Prometheus text and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  connections(limit?: number): Promise<ConnectionList>;
  status(): Promise<ServerStatus>;
  /** Whether clients are being accepted (for /readyz), and the state that says why not. */
  readiness(): Promise<{ ready: boolean; state: string }>;
  /** Called when a client connects or leaves, so the page can show it at once; returns the unsubscribe. Optional. */
  onChange?(listener: () => void): () => void;
}

/** One NameEchoServer in this process. */
export class LocalView implements OpsView {
  readonly server: NameEchoServer;
  readonly counters: ServerCounters;
  readonly ids: ConnectionIds;
  private readonly registry: Registry | undefined;
  private readonly startedAt = Date.now();

  /** @param registry its metrics (instrumentServer); without one, /metrics answers 404. */
  constructor(server: NameEchoServer, registry?: Registry, counters?: ServerCounters) {
    this.server = server;
    this.registry = registry;
    this.counters = counters ?? new ServerCounters(server);
    this.ids = new ConnectionIds(server);
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    if (this.registry === undefined) throw new Error("no metrics registry");
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  async connections(limit?: number): Promise<ConnectionList> {
    return { connections: listConnections(this.server, this.ids, limit), total: this.server.connections.size };
  }

  async status(): Promise<ServerStatus> {
    return serverStatus(this.server, this.counters, this.startedAt);
  }

  async readiness(): Promise<{ ready: boolean; state: string }> {
    return { ready: this.server.state === "listening", state: this.server.state };
  }

  onChange(listener: () => void): () => void {
    this.server.on("connection", listener);
    this.server.on("disconnect", listener);
    return () => {
      this.server.off("connection", listener);
      this.server.off("disconnect", listener);
    };
  }
}
