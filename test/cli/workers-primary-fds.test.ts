/**
 * `serve --workers` with round-robin balancing: the primary accepts every
 * connection and holds it until a worker takes it. A burst bigger than the
 * primary's descriptors must not take the primary down: it says it is
 * short, the workers' clients are served on, and the stop is still graceful.
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { describe, test } from "node:test";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { LISTENING, runCli, waitForOutput } from "../helpers/cli.js";
import { LineClient } from "../helpers/fault.js";
import { skipUnless } from "../helpers/tools.js";

const FD_LIMIT = 300;
/** Clients connecting (and closing) in a loop at once. */
const FLOODERS = 200;

describe("serve --workers: the primary's descriptors", { timeout: 60_000, skip: skipUnless("sh") }, () => {
  const cleanups = cleanupsAfterEach();

  test("a connect burst past the primary's ulimit -n: one warning, the primary lives, clients are served, the stop is graceful", {
    timeout: 45_000,
  }, async () => {
    const server = runCli(["serve", "--port", "0", "--workers", "2", "--balance", "round-robin", "--log-format", "pretty", "--quiet"], {
      fdLimit: FD_LIMIT,
    });
    cleanups.push(() => server.kill());
    const port = Number((await waitForOutput(server, server.stdout, LISTENING, 10_000))[1]);
    const member = await LineClient.connect(port);
    cleanups.push(() => member.destroy());
    assert.equal((await member.roundTrip("before")).reply, "before Ali");

    // Connects faster than the primary hands them to the workers, each
    // closed by the client at once: the primary holds every one until a
    // worker has taken it, while the workers have next to nothing to keep.
    let flooding = true;
    cleanups.push(() => (flooding = false));
    const flood = async (): Promise<void> => {
      while (flooding) {
        await new Promise<void>((resolve) => {
          const socket = net.connect({ port, host: "127.0.0.1" });
          socket
            .on("connect", () => socket.destroy())
            .on("close", () => resolve())
            .on("error", () => {});
        });
      }
    };
    const flooders = Promise.all(Array.from({ length: FLOODERS }, flood));
    await waitForOutput(
      server,
      server.stderr,
      /the primary holds [\d,]+ of its 300 file descriptors: connections arrive faster than the workers take them/,
      20_000,
    );
    flooding = false;
    await flooders;

    // The primary and its workers go on: the client already in is served,
    // and new clients are again once the primary's queue has drained (until
    // then, libuv may close one at its limit: try again, a few times).
    assert.equal((await member.roundTrip("during")).reply, "during Ali");
    let reply = "";
    for (let attempt = 1; reply === "" && attempt <= 20; attempt++) {
      const newcomer = await LineClient.connect(port);
      cleanups.push(() => newcomer.destroy());
      reply = await newcomer.roundTrip("after", 5000).then(
        (answer) => answer.reply,
        () => "",
      );
      newcomer.destroy();
      if (reply === "") await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(reply, "after Ali");

    server.child.kill("SIGTERM");
    const { code } = await server.finished;
    assert.equal(code, 0, server.stderr());
    assert.equal(await member.nextLine(), "closing: the server is shutting down");
  });
});
