/**
 * A recording TCP proxy between a real client program and the server: it
 * passes every byte through unchanged, in both directions, and keeps a copy
 * of each, so an end-to-end test can say what a client really sends (its
 * negotiation at connect, what Enter, Backspace and Ctrl-C become) and what
 * the server really answers, next to what the terminal shows.
 *
 * One tap serves one client connection; open one per client.
 */
import * as net from "node:net";
import { once } from "node:events";
import { Changes, waitFor } from "./wait.js";

export class WireTap {
  /** Every byte the client sent, in order. */
  fromClient = Buffer.alloc(0);
  /** Every byte the server sent back, in order. */
  fromServer = Buffer.alloc(0);
  /** Whether the client has connected (a client that negotiates nothing sends no byte to show it). */
  connected = false;
  /** The port of the tap's own connection to the server: the client's port as the server (and /connections) sees it. */
  serverSidePort: number | undefined;
  private readonly changes = new Changes();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly listener: net.Server,
    private readonly targetPort: number,
  ) {
    listener.on("connection", (client) => this.relay(client));
  }

  /** Listens on 127.0.0.1 (a free port) for one client and relays it to `targetPort`; the cleanup closes both sides. */
  static async open(targetPort: number, cleanups: Array<() => unknown>): Promise<WireTap> {
    const listener = net.createServer();
    listener.maxConnections = 1;
    listener.listen(0, "127.0.0.1");
    await once(listener, "listening");
    const tap = new WireTap(listener, targetPort);
    cleanups.push(() => tap.close());
    return tap;
  }

  get port(): number {
    return (this.listener.address() as net.AddressInfo).port;
  }

  /** Resolves with what the client has sent once `ready` holds for it; rejects after `timeoutMs`, showing the bytes. */
  untilClient(ready: (bytes: Buffer) => boolean, what: string, timeoutMs = 5000): Promise<Buffer> {
    return this.until(() => ready(this.fromClient), what, timeoutMs).then(() => this.fromClient);
  }

  /** Resolves with what the server has sent once `ready` holds for it; rejects after `timeoutMs`, showing the bytes. */
  untilServer(ready: (bytes: Buffer) => boolean, what: string, timeoutMs = 5000): Promise<Buffer> {
    return this.until(() => ready(this.fromServer), what, timeoutMs).then(() => this.fromServer);
  }

  /** Resolves once the client has connected; rejects after `timeoutMs`. */
  async untilConnected(timeoutMs = 5000): Promise<void> {
    await this.until(() => this.connected, "the client to connect", timeoutMs);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    const server = net.connect({ port: this.targetPort, host: "127.0.0.1", noDelay: true });
    client.setNoDelay(true);
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      // A reset on one side ends the other; the test sees it on the screen.
      socket.on("error", () => {
        client.destroy();
        server.destroy();
      });
    }
    client.pause();
    server.once("connect", () => {
      this.serverSidePort = server.localPort;
      this.connected = true;
      this.wake();
      client.resume();
    });
    client.on("data", (chunk: Buffer) => {
      this.fromClient = Buffer.concat([this.fromClient, chunk]);
      server.write(chunk);
      this.wake();
    });
    server.on("data", (chunk: Buffer) => {
      this.fromServer = Buffer.concat([this.fromServer, chunk]);
      client.write(chunk);
      this.wake();
    });
    client.on("end", () => server.end());
    server.on("end", () => client.end());
  }

  private async until(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    await waitFor(ready, what, {
      timeoutMs,
      changes: this.changes,
      seen: () => `the client sent ${hex(this.fromClient)}; the server sent ${hex(this.fromServer)}`,
    });
  }

  private wake(): void {
    this.changes.changed();
  }
}

/** Bytes as `48 65 6c 6c 6f`, for failure messages a person can read. */
export function hex(bytes: Buffer): string {
  return bytes.length === 0 ? "nothing" : [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** Whether `bytes` ends with `tail` (a Buffer, or a latin1 string for byte-exact literals). */
export function endsWith(bytes: Buffer, tail: Buffer | string): boolean {
  const wanted = typeof tail === "string" ? Buffer.from(tail, "latin1") : tail;
  return bytes.length >= wanted.length && bytes.subarray(bytes.length - wanted.length).equals(wanted);
}

/** Telnet command bytes (RFC 854), for spelling what a client sends. */
export const IAC = 0xff;
export const telnet = {
  WILL: 0xfb,
  WONT: 0xfc,
  DO: 0xfd,
  DONT: 0xfe,
  IP: 0xf4,
  ECHO: 1,
  SGA: 3,
  TIMING_MARK: 6,
} as const;

/** `IAC <command> [option]` as bytes. */
export function iac(command: number, option?: number): Buffer {
  return Buffer.from(option === undefined ? [IAC, command] : [IAC, command, option]);
}

/** Whether `bytes` holds `IAC <verb> <option>` anywhere. */
export function hasOption(bytes: Buffer, verb: number, option: number): boolean {
  return bytes.includes(iac(verb, option));
}
