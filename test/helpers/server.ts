/**
 * The in-process server: a NameEchoServer on 127.0.0.1 port 0 for one test,
 * destroyed by the cleanup it pushes. (A `name-echo serve` child process is
 * `startServe` in cli.ts.)
 */
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";

export async function startInProcessServer(cleanups: Array<() => unknown>, options: NameEchoServerOptions = {}): Promise<NameEchoServer> {
  const server = new NameEchoServer({ port: 0, ...options });
  await server.listen();
  cleanups.push(() => server.destroy());
  return server;
}
