/**
 * HAProxy for real, on loopback: one HAProxy in front of two name-echo
 * instances, one fed PROXY v1 (send-proxy), the other v2 (send-proxy-v2),
 * with HAProxy's health check on /readyz. Checks that clients spread over
 * both, that each instance sees the real client address (not HAProxy's),
 * that a SIGTERM'd instance answers every line it took before closing, and
 * that new clients then go to the other one.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { collect, connect, freePort } from "../helpers/net.js";
import { Instance } from "../helpers/instance.js";
import { skipUnless } from "../helpers/tools.js";
import { TRANSPORTS } from "../helpers/transports.js";
import { waitFor } from "../helpers/wait.js";

const skip = skipUnless("haproxy");
const EXAMPLE = fileURLToPath(new URL("../../../examples/haproxy.cfg", import.meta.url));

/** Asks HAProxy's stats socket for a server's status ("UP", "DOWN", ...). */
function serverStatus(socketPath: string, server: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = "";
    socket.setTimeout(2000, () => socket.destroy(new Error("stats socket timed out")));
    socket.on("data", (chunk) => (text += chunk.toString()));
    socket.on("error", reject);
    socket.on("end", () => {
      // CSV: pxname,svname,...,status is the 18th column.
      const row = text.split("\n").find((line) => line.startsWith(`name_echo,${server},`));
      resolve(row?.split(",")[17] ?? "missing");
    });
    socket.end("show stat\n");
  });
}

async function waitForStatus(socketPath: string, server: string, wanted: RegExp, timeoutMs = 10_000): Promise<void> {
  let status = "";
  await waitFor(
    async () => {
      status = await serverStatus(socketPath, server).catch((error: Error) => error.message);
      return wanted.test(status);
    },
    `haproxy server ${server} to be ${wanted}`,
    { timeoutMs, intervalMs: 50, seen: () => status },
  );
}

/** One client through HAProxy: connects, says Hello, waits for the reply. */
async function talk(port: number): Promise<{ socket: net.Socket; key: string }> {
  const socket = await connect(port);
  const replies = collect(socket);
  socket.write("Hello\r\n");
  await replies.until("Hello Ali\r\n");
  return { socket, key: `127.0.0.1:${socket.localPort}` };
}

for (const transport of TRANSPORTS)
  describe(`behind HAProxy (${transport} transport)`, { skip, timeout: 90_000 }, () => {
    let dir = "";
    let haproxy: ChildProcess | undefined;
    let haproxyLog = "";
    let a: Instance;
    let b: Instance;
    let frontend = 0;
    let statsSocket = "";
    const clients: net.Socket[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "name-echo-haproxy-"));
      const [portA, portB, metricsA, metricsB] = [await freePort(), await freePort(), await freePort(), await freePort()];
      frontend = await freePort();
      statsSocket = join(dir, "stats.sock");
      a = new Instance([
        "--port",
        String(portA),
        "--proxy-protocol",
        "--metrics-port",
        String(metricsA),
        "--shutdown-timeout",
        "5",
        "--transport",
        transport,
      ]);
      b = new Instance(["--port", String(portB), "--proxy-protocol", "--metrics-port", String(metricsB), "--transport", transport]);
      await Promise.all([a.listening(), b.listening()]);
      const config = `
global
    stats socket ${statsSocket} mode 600 level admin
    maxconn 1000

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch

listen name_echo
    bind 127.0.0.1:${frontend}
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    default-server inter 100ms fall 1 rise 1
    server a 127.0.0.1:${portA} send-proxy check port ${metricsA}
    server b 127.0.0.1:${portB} send-proxy-v2 check port ${metricsB}
`;
      writeFileSync(join(dir, "haproxy.cfg"), config);
      // -db: stay in the foreground, so the test owns the process and its exit.
      haproxy = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "pipe", "pipe"] });
      haproxy.stdout!.on("data", (chunk) => (haproxyLog += chunk));
      haproxy.stderr!.on("data", (chunk) => (haproxyLog += chunk));
      await waitForStatus(statsSocket, "a", /^UP/).catch((error: Error) => {
        throw new Error(`${error.message}\nhaproxy said: ${haproxyLog}`);
      });
      await waitForStatus(statsSocket, "b", /^UP/);
    });

    after(async () => {
      for (const client of clients) client.destroy();
      if (haproxy && haproxy.exitCode === null && haproxy.signalCode === null) {
        haproxy.kill("SIGKILL");
        await once(haproxy, "exit");
      }
      await a?.kill();
      await b?.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it("the example config is valid HAProxy", () => {
      const check = spawnSync("haproxy", ["-c", "-f", EXAMPLE], { encoding: "utf8", timeout: 10_000 });
      assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
    });

    it("spreads clients over both instances, and each sees the real client address", async () => {
      const onA: string[] = [];
      const onB: string[] = [];
      for (let i = 0; i < 6; i++) {
        const { socket, key } = await talk(frontend);
        clients.push(socket);
        // The instance logs the client's own address and port (from the PROXY
        // header), not HAProxy's outgoing connection.
        const where = await Promise.race([a.logged("connect", key).then(() => "a"), b.logged("connect", key).then(() => "b")]);
        (where === "a" ? onA : onB).push(key);
      }
      assert.ok(onA.length >= 2 && onB.length >= 2, `a got ${onA.length}, b got ${onB.length}`);
      // Nothing was turned away: every connection carried a valid header.
      assert.equal([...a.logs, ...b.logs].filter((r) => r.event === "limit").length, 0);
    });

    it("SIGTERM on one instance: every line it took is answered, then new clients go to the other", async () => {
      // A client on instance a that has a burst of lines in flight when the stop comes.
      let onA: { socket: net.Socket; key: string } | undefined;
      for (let i = 0; i < 4 && !onA; i++) {
        const candidate = await talk(frontend);
        clients.push(candidate.socket);
        const where = await Promise.race([a.logged("connect", candidate.key).then(() => "a"), b.logged("connect", candidate.key).then(() => "b")]);
        if (where === "a") onA = candidate;
      }
      assert.ok(onA, "roundrobin put a client on instance a");
      const replies = collect(onA.socket);
      const ended = once(onA.socket, "end");
      const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}\r\n`).join("");
      onA.socket.write(lines);
      a.child.kill("SIGTERM");
      await ended;

      // Replies come back in order, whole, for a prefix of the lines, then the notice.
      const received = replies.text.split("\r\n");
      const notice = received.indexOf("closing: the server is shutting down");
      assert.ok(notice >= 0, `closing notice received: ${replies.text.slice(-200)}`);
      const answered = received.slice(0, notice);
      answered.forEach((reply, i) => assert.equal(reply, `line ${i} Ali`));
      // And the server answered every line it read: its own count says so.
      const disconnect = await a.logged("disconnect", onA.key);
      // (+1: the "Hello" that talk() sent first.)
      assert.equal(disconnect.lines, answered.length + 1, "lines the server took = replies the client got");
      assert.equal(await a.exited(), 0);
      assert.ok(
        a.logs.some((r) => r.event === "stop"),
        "a logged its stop",
      );
      if (process.env.DEBUG_E2E)
        console.error(
          a.logs
            .filter((r) => r.event !== "connect")
            .map((r) => `${r.time} ${r.msg}`)
            .join("\n"),
        );

      await waitForStatus(statsSocket, "a", /^(DOWN|MAINT)/);
      for (let i = 0; i < 4; i++) {
        const { socket, key } = await talk(frontend);
        clients.push(socket);
        await b.logged("connect", key, 5000);
      }
      // Clients that were on b never noticed.
      const { socket } = await talk(frontend);
      clients.push(socket);
    });
  });
