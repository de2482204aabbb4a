/** An in-process NameEchoServer on 127.0.0.1 port 0 for one test, destroyed by the cleanup it pushes. */
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";

export async function startServer(cleanups: Array<() => unknown>, options: NameEchoServerOptions = {}): Promise<NameEchoServer> {
  const server = new NameEchoServer({ port: 0, ...options });
  await server.listen();
  cleanups.push(() => server.destroy());
  return server;
}
