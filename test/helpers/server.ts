/**
 * The in-process server: a NameEchoServer on 127.0.0.1 port 0 for one test,
 * destroyed by the cleanup it pushes. (A `name-echo serve` child process is
 * `startServe` in cli.ts.)
 */
import { after, before } from "node:test";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/server/server.js";

export async function startInProcessServer(cleanups: Array<() => unknown>, options: NameEchoServerOptions = {}): Promise<NameEchoServer> {
  const server = new NameEchoServer({ port: 0, ...options });
  await server.listen();
  cleanups.push(() => server.destroy());
  return server;
}

/**
 * One in-process server for a whole describe(): started before its first
 * test, destroyed after its last. Read `port` (or `server`) inside the tests.
 */
export function inProcessServerForSuite(options: NameEchoServerOptions = {}): { readonly server: NameEchoServer; readonly port: number } {
  let server: NameEchoServer | undefined;
  before(async () => {
    server = new NameEchoServer({ port: 0, ...options });
    await server.listen();
  });
  after(async () => {
    await server?.destroy();
  });
  return {
    get server() {
      return server!;
    },
    get port() {
      return server!.address!.port;
    },
  };
}
