/** Small socket helpers for tests: connect, read until, wait for close. All bounded in time. */
import * as net from "node:net";

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
  const waiters: Array<() => void> = [];
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
    for (const waiter of waiters.splice(0)) waiter();
  });
  return {
    get text() {
      return text;
    },
    until(wanted: string | RegExp, timeoutMs = 5000): Promise<string> {
      const has = () => (typeof wanted === "string" ? text.includes(wanted) : wanted.test(text));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${String(wanted)}; got ${JSON.stringify(text)}`)), timeoutMs);
        const check = (): void => {
          if (has()) {
            clearTimeout(timer);
            resolve(text);
          } else waiters.push(check);
        };
        check();
      });
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

/** A free loopback port: listen on 0, note the port, close. For configs that need a number (haproxy). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
