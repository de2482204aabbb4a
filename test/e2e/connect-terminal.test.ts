/**
 * `name-echo connect` at a real terminal (tmux): prompt, replies as they
 * arrive, history with the Up key, Esc and Ctrl-D to leave, and a clear
 * message when the server goes away.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NameEchoServer } from "../../src/server/server.js";
import { cliCommandLine, REPO } from "../helpers/cli.js";
import { Tmux } from "../helpers/tmux.js";
import { skipUnless } from "../helpers/tools.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { TRANSPORTS } from "../helpers/transports.js";

const skip = skipUnless("tmux");

for (const transport of TRANSPORTS)
  describe(`connect at a terminal (${transport} transport)`, { skip, timeout: 60_000 }, () => {
    const cleanups = cleanupsAfterEach();

    async function start(): Promise<{ tmux: Tmux; server: NameEchoServer }> {
      const server = new NameEchoServer({ port: 0, transport });
      const { port } = await server.listen();
      cleanups.push(() => server.destroy());
      const tmux = new Tmux();
      cleanups.push(() => tmux.kill());
      await tmux.start(`${cliCommandLine(["connect", "127.0.0.1", String(port)])}; echo "EXIT=$?"; exec sleep 600`, { cwd: REPO });
      await tmux.waitFor(/connected to 127\.0\.0\.1:\d+[\s\S]*> $/m, 10_000);
      return { tmux, server };
    }

    it("sends a typed line, shows the reply, recalls it with Up; Esc leaves with exit 0", async () => {
      const { tmux, server } = await start();
      await tmux.sendKeys(["Hello"], true);
      await tmux.sendKeys(["Enter"]);
      await tmux.waitFor(/^Hello Ali$/m, 5_000);
      // Up recalls "Hello"; Enter sends it again.
      await tmux.sendKeys(["Up", "Enter"]);
      await tmux.waitFor(/^Hello Ali$[\s\S]*^Hello Ali$/m, 5_000);
      // Line editing: type, move left, insert.
      await tmux.sendKeys(["Wrld"], true);
      await tmux.sendKeys(["Left", "Left", "Left"]);
      await tmux.sendKeys(["o"], true);
      await tmux.sendKeys(["Enter"]);
      await tmux.waitFor(/^World Ali$/m, 5_000);
      let lines = 0;
      for (const connection of server.connections) lines += connection.stats.lines;
      assert.equal(lines, 3);
      await tmux.sendKeys(["Escape"]);
      await tmux.waitFor(/EXIT=0/, 5_000);
    });

    it("Ctrl-D leaves with exit 0", async () => {
      const { tmux } = await start();
      await tmux.sendKeys(["C-d"]);
      await tmux.waitFor(/EXIT=0/, 5_000);
    });

    it("says so clearly when the server goes away", async () => {
      const { tmux, server } = await start();
      await tmux.sendKeys(["partly typed"], true);
      await server.close();
      const screen = (await tmux.waitFor(/EXIT=\d+/, 5_000)).input!;
      assert.match(screen, /closing: the server is shutting down/);
      assert.match(screen, /the server closed the connection \(127\.0\.0\.1:\d+\)/);
      assert.match(screen, /EXIT=0/);
    });
  });
