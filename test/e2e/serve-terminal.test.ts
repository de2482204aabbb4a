/**
 * `name-echo serve` in a real terminal (tmux): Esc and Ctrl-C stop it
 * gracefully, escape sequences do not, clients are told, the port is free
 * afterwards and the terminal is back in its normal mode.
 */
import * as assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NameEchoClient } from "../../src/client/client.js";
import { cliCommandLine, REPO } from "../helpers/cli.js";
import { portIsFree } from "../helpers/net.js";
import { Tmux } from "../helpers/tmux.js";
import { skipUnless } from "../helpers/tools.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { TRANSPORTS } from "../helpers/transports.js";

const skip = skipUnless("tmux");

/**
 * Runs serve in the pane, then prints its exit status and the terminal
 * mode (stty) and keeps the pane open for the test to read.
 */
function serveCommand(transport: string, extra = ""): string {
  return `${cliCommandLine(["serve", "--port", "0", "--transport", transport])} ${extra}; echo "EXIT=$? AT=$(date +%s%3N)"; stty -a | tr -s ' \\n' ' '; echo; echo DONE; exec sleep 600`;
}

for (const transport of TRANSPORTS)
  describe(`serve in a terminal (${transport} transport)`, { skip, timeout: 60_000 }, () => {
    const cleanups = cleanupsAfterEach();

    async function startInTmux(): Promise<{ tmux: Tmux; port: number }> {
      const tmux = new Tmux();
      cleanups.push(() => tmux.kill());
      await tmux.start(serveCommand(transport), { cwd: REPO });
      const [, port] = await tmux.waitFor(/listening on 127\.0\.0\.1:(\d+) .*press Esc to stop/, 10_000);
      return { tmux, port: Number(port) };
    }

    async function connectClient(port: number): Promise<{ client: NameEchoClient; notices: string[] }> {
      const client = await NameEchoClient.connect({ host: "127.0.0.1", port });
      cleanups.push(() => client.destroy());
      const notices: string[] = [];
      client.on("notice", (notice) => notices.push(notice));
      assert.equal(await client.send("Hello"), "Hello Ali");
      return { client, notices };
    }

    function assertTerminalRestored(screen: string): void {
      const stty = /EXIT=\d+\s+(.*)\s+DONE/s.exec(screen)?.[1] ?? "";
      // Raw mode turns these off; they must be back on for the shell.
      for (const flag of ["icanon", "echo", "isig", "icrnl"]) {
        assert.match(stty, new RegExp(`(^|\\s)${flag}(\\s|$)`), `terminal flag ${flag} restored; stty: ${stty}`);
      }
    }

    it("Escape stops it with exit 0 within a second, tells clients, frees the port", async () => {
      const { tmux, port } = await startInTmux();
      const { client, notices } = await connectClient(port);
      const closed = new Promise((resolve) => client.once("close", resolve));
      const pressed = Date.now();
      await tmux.sendKeys(["Escape"]);
      // The pane stamps the moment serve exited, so polling delays do not count.
      const [, code, exitedAt] = await tmux.waitFor(/EXIT=(\d+) AT=(\d+)[\s\S]*DONE/, 5_000);
      const elapsed = Number(exitedAt) - pressed;
      assert.equal(code, "0");
      assert.ok(elapsed < 1000, `exited ${elapsed} ms after Escape was sent (limit 1000)`);
      await closed;
      assert.deepEqual(notices, ["closing: the server is shutting down"]);
      assert.equal(await portIsFree(port), true, "port is free after exit");
      assertTerminalRestored(await tmux.capture());
    });

    it("Up, F1, Alt-x and typed text do not stop it; Ctrl-C then does", async () => {
      const { tmux, port } = await startInTmux();
      const { client, notices } = await connectClient(port);
      await tmux.sendKeys(["Up", "F1", "F5", "M-x", "Left"]);
      await tmux.sendKeys(["q[A"], true);
      // "Did not stop" has no event to wait for: keep the server busy past
      // several escape timeouts (50 ms each) and check it still answers.
      const until = Date.now() + 400;
      let round = 0;
      while (Date.now() < until) assert.equal(await client.send(`still there ${round++}`), `still there ${round - 1} Ali`);
      assert.doesNotMatch(await tmux.capture(), /stopping|EXIT=/);
      assert.deepEqual(notices, []);

      await tmux.sendKeys(["C-c"]);
      await tmux.waitFor(/EXIT=(\d+)[\s\S]*DONE/, 5_000);
      const screen = await tmux.capture();
      assert.match(screen, /Ctrl-C: stopping/);
      assert.match(screen, /EXIT=0/);
      assert.equal(await portIsFree(port), true);
      assertTerminalRestored(screen);
    });

    it("a second Ctrl-C drops clients that do not leave, at once", async () => {
      const tmux = new Tmux();
      cleanups.push(() => tmux.kill());
      await tmux.start(serveCommand(transport, "--shutdown-timeout 60"), { cwd: REPO });
      const [, portText] = await tmux.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 10_000);
      const port = Number(portText);
      // A client that never answers our FIN keeps a graceful stop waiting.
      const net = await import("node:net");
      const stubborn = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
      cleanups.push(async () => stubborn.destroy());
      stubborn.on("error", () => {});
      await new Promise((resolve) => stubborn.once("connect", resolve));
      await tmux.waitFor(/connect 127\.0\.0\.1/, 5_000);
      await tmux.sendKeys(["C-c"]);
      await tmux.waitFor(/Ctrl-C: stopping; 1 client/, 5_000);
      await tmux.sendKeys(["C-c"]);
      await tmux.waitFor(/EXIT=(\d+)[\s\S]*DONE/, 5_000);
      const screen = await tmux.capture();
      assert.match(screen, /again: dropping 1 client/);
      assert.match(screen, /EXIT=0/);
      assert.equal(await portIsFree(port), true);
    });
  });
