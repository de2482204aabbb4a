/**
 * The fixture of the real-client suites (inetutils telnet, busybox telnet,
 * plink, libtelnet's telnet-client): one in-process server per suite, one
 * private tmux server, and for each test one client program in its own tmux
 * session, connected through its own recording proxy (a WireTap), all
 * stopped when the test or the suite ends.
 */
import { after, before, type TestContext } from "node:test";
import { NameEchoServer, type NameEchoServerOptions } from "../../src/index.js";
import { cleanupsAfterEach } from "./cleanup.js";
import { ClientPane } from "./client-pane.js";
import { Tmux } from "./tmux.js";
import { requireCommands } from "./tools.js";
import { WireTap } from "./wire-tap.js";

export interface RealClient {
  pane: ClientPane;
  tap: WireTap;
}

export interface RealClientProgram {
  /** The programs the test needs (it is skipped, or fails under CI=true, without them). */
  needs: string[];
  /** The command line that connects to 127.0.0.1:`port` (the tap's). */
  command: (port: number) => string;
  /** When the program's screen says it has started, and what that is, for a failure. */
  ready: (rows: string[]) => boolean;
  what: string;
  /** The terminal's size (default 160 x 50: no line wraps). */
  width?: number;
  height?: number;
}

/** Call inside a describe(): registers its before/after and returns how to open a client for one test. */
export function realClientSuite(
  name: string,
  serverOptions: NameEchoServerOptions = {},
): { open(t: TestContext, program: RealClientProgram): Promise<RealClient | undefined>; readonly server: NameEchoServer } {
  const tmux = new Tmux({ TERM: "xterm-256color", LANG: "C.UTF-8" });
  const cleanups = cleanupsAfterEach();
  let server: NameEchoServer;
  let sessions = 0;

  before(async () => {
    server = new NameEchoServer({ port: 0, name: "Ali", ...serverOptions });
    await server.listen();
  });

  after(async () => {
    await tmux.kill();
    await server.destroy();
  });

  return {
    get server() {
      return server;
    },
    async open(t, program) {
      if (!requireCommands(t, ...program.needs)) return undefined;
      const tap = await WireTap.open(server.address!.port, cleanups);
      const session = `${name}${sessions++}`;
      const size = { ...(program.width !== undefined && { width: program.width }), ...(program.height !== undefined && { height: program.height }) };
      const pane = await ClientPane.open(tmux, session, program.command(tap.port), program.ready, program.what, size);
      cleanups.push(() => tmux.run("kill-session", "-t", session).catch(() => {}));
      return { pane, tap };
    },
  };
}
