/**
 * The student's check, for real: a name-echo server process and three real
 * `telnet` clients in three terminals at once, each typing its own lines and
 * seeing only its own replies.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { startServe, type RunningServe } from "../helpers/cli.js";
import { Tmux } from "../helpers/tmux.js";
import { requireCommands } from "../helpers/tools.js";
import { TRANSPORTS } from "../helpers/transports.js";

const tmux = new Tmux();
const servers: RunningServe[] = [];

after(async () => {
  await tmux.kill();
  for (const server of servers) await server.stop();
});

for (const transport of TRANSPORTS)
  test(`three telnet clients at once each see only their own replies (${transport} transport)`, { timeout: 60_000 }, async (t) => {
    if (!requireCommands(t, "telnet", "tmux")) return;
    const server = await startServe(["--transport", transport]);
    servers.push(server);
    const windows = ["first", "second", "third"].map((window) => `${window}-${transport}`);
    for (const window of windows) await tmux.start(`telnet 127.0.0.1 ${server.port}`, { session: window, remainOnExit: true });
    for (const window of windows) await tmux.waitUntil((s) => s.includes("Escape character is"), "telnet to connect", 10_000, window);

    // Interleave: every window types a line before any waits for its reply.
    for (const round of [1, 2]) {
      for (const window of windows) {
        await tmux.sendKeys([`Hello from ${window} ${round}`], true, window);
        await tmux.sendKeys(["Enter"], false, window);
      }
      for (const window of windows) await tmux.waitUntil((s) => s.includes(`Hello from ${window} ${round} Ali`), "the reply", 10_000, window);
    }

    for (const window of windows) {
      const screen = await tmux.capture(window);
      const replies = screen.split("\n").filter((line) => / Ali\s*$/.test(line));
      assert.deepEqual(
        replies.map((line) => line.trimEnd()),
        [`Hello from ${window} 1 Ali`, `Hello from ${window} 2 Ali`],
        `window ${window} shows exactly its own two replies:\n${screen}`,
      );
    }

    // Telnet's own "quit" closes each session; the server sees three disconnects.
    for (const window of windows) {
      await tmux.sendKeys(["C-]"], false, window);
      await tmux.waitUntil((s) => s.includes("telnet>"), "the telnet> prompt", 10_000, window);
      await tmux.sendKeys(["quit"], true, window);
      await tmux.sendKeys(["Enter"], false, window);
    }
    for (const window of windows) {
      await tmux.waitUntil(async () => (await tmux.paneStatus(window)).dead, "telnet to exit", 10_000, window);
    }
    assert.equal(await server.stop(), 0, "the server stops cleanly on SIGTERM");
  });
