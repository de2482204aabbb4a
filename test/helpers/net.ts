/** Real loopback sockets for tests: a raw client that collects what it receives and awaits it. */
import * as net from "node:net";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { Changes, waitFor } from "./wait.js";

export class RawClient {
  readonly socket: net.Socket;
  received = Buffer.alloc(0);
  ended = false;
  private readonly changes = new Changes();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("close", () => this.wake());
    socket.on("error", () => this.wake());
  }

  static async connect(port: number, host = "127.0.0.1", options: { read?: boolean } = {}): Promise<RawClient> {
    const socket = net.connect({ port, host, noDelay: true });
    await once(socket, "connect");
    const client = new RawClient(socket);
    if (options.read === false) socket.pause();
    return client;
  }

  get text(): string {
    return this.received.toString("latin1");
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** Resolves once `predicate` holds for what was received; rejects after `ms`. */
  async waitFor(predicate: (client: RawClient) => boolean, what: string, ms = 5000): Promise<void> {
    const seen = (): string => `received ${JSON.stringify(this.text.slice(-300))}`;
    await waitFor(() => predicate(this), what, {
      timeoutMs: ms,
      changes: this.changes,
      seen,
      failIf: () => (this.socket.destroyed ? new Error(`the connection closed while waiting for ${what}; ${seen()}`) : undefined),
    });
  }

  waitForText(text: string, ms?: number): Promise<void> {
    return this.waitFor((c) => c.text.includes(text), JSON.stringify(text), ms);
  }

  waitForBytes(count: number, ms?: number): Promise<void> {
    return this.waitFor((c) => c.received.length >= count, `${count} bytes`, ms);
  }

  waitForEnd(ms?: number): Promise<void> {
    return this.waitFor((c) => c.ended || c.socket.destroyed, "the server to close", ms);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    this.changes.changed();
  }
}

/** A port on 127.0.0.1 that nobody listens on right now (bound on port 0, then released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether nothing listens on 127.0.0.1:port: we can bind it ourselves (and let it go again). */
export async function portIsFree(port: number): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen({ host: "127.0.0.1", port, exclusive: true }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    if (probe.listening) await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/**
 * A raw client on 127.0.0.1:port with allowHalfOpen, so it does not answer
 * the server's FIN by itself; errors are ignored and it is destroyed by the
 * cleanup it pushes onto `cleanups`.
 */
export async function connectHalfOpen(port: number, cleanups: Array<() => unknown>): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  cleanups.push(() => void socket.destroy());
  await once(socket, "connect");
  return socket;
}

/** A connected plain socket to host:port (for tests that write raw bytes); rejects on error. */
export function connect(port: number, host = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Collects everything the stream sends; `until(text)` resolves once the text has arrived. */
export function collect(stream: NodeJS.ReadableStream & { on(event: "data", cb: (chunk: Buffer) => void): unknown }) {
  let text = "";
  const changes = new Changes();
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
    changes.changed();
  });
  return {
    get text() {
      return text;
    },
    until(wanted: string | RegExp, timeoutMs = 5000): Promise<string> {
      const has = () => (typeof wanted === "string" ? text.includes(wanted) : wanted.test(text));
      return waitFor(has, String(wanted), { timeoutMs, changes, seen: () => JSON.stringify(text) }).then(() => text);
    },
  };
}

export function closed(socket: net.Socket, timeoutMs = 5000): Promise<void> {
  if (socket.destroyed && socket.closed) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("socket did not close in time")), timeoutMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The established TCP connections whose local port is `port`, counted per
 * process that holds them, as `ss -tnp` tells (a connection held by two
 * processes counts for each; one still in a listen queue, held by nobody,
 * counts under pid 0).
 */
export function connectionsByProcess(port: number): Map<number, number> {
  const listing = execFileSync("ss", ["-tnpH", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  const counts = new Map<number, number>();
  for (const line of listing.split("\n")) {
    if (line.trim() === "") continue;
    const holders = [...line.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]));
    for (const pid of holders.length > 0 ? new Set(holders) : [0]) counts.set(pid, (counts.get(pid) ?? 0) + 1);
  }
  return counts;
}

/** The pid of the process holding the server's end of the connection from the local port `clientPort`, as `ss -tnp` tells; 0 if none. */
export function holderOfConnectionFrom(clientPort: number): number {
  const listing = execFileSync("ss", ["-tnpH", "state", "established", `( dport = :${clientPort} )`], { encoding: "utf8" });
  return Number(/pid=(\d+)/.exec(listing)?.[1] ?? 0);
}
