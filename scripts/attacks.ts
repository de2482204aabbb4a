/**
 * The attacks the fault suite's bounds tests are made of, at full size and
 * with figures, against a real server process (this build, or another with
 * --bin). Outside `npm test`: each takes seconds to a minute.
 *
 *   node dist/scripts/attacks.js memory [--clients 1000] [--per-client-mib 8] [--line-bytes 1024] [-- serve flags…]
 *   node dist/scripts/attacks.js slots  [--clients 2000] [-- serve flags…]
 *   node dist/scripts/attacks.js stop-read-buffer [-- serve flags…]
 *   node dist/scripts/attacks.js linger [--clients 9] [-- serve flags…]
 *
 * Loopback only; the server is a child process started and stopped here.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import * as net from "node:net";
import { parseArgs } from "node:util";
import { BIN, LISTENING } from "../test/helpers/cli.js";
import { MiB, rssOf, writeOrStall } from "../test/helpers/fault.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    clients: { type: "string" },
    "per-client-mib": { type: "string", default: "8" },
    /** The memory attack's line length, line end included: short lines make the most reply bytes per byte read. */
    "line-bytes": { type: "string", default: "1024" },
    /** The memory attack: one line every half second of RSS, malloc's heap, Buffers and what the budget counts. */
    timeline: { type: "boolean", default: false },
    /** Another build's bin/name-echo, for before/after figures. */
    bin: { type: "string", default: BIN },
  },
});
const [attack, ...serveArgs] = positionals;

interface Server {
  port: number;
  pid: number;
  log: string[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

async function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [values.bin!, "serve", "--port", "0", "--log-format", "pretty", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (text: string) => log.push(...text.split("\n").filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  let stdout = "";
  child.stdout.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", () => reject(new Error(`server exited: ${log.join("\n")}`)));
    child.stdout.on("data", (text: string) => {
      stdout += text;
      const match = LISTENING.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
  });
  return { port, pid: child.pid!, log, exited, kill: (signal) => child.kill(signal) };
}

function connect(port: number, localAddress?: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: "127.0.0.1", localAddress });
  socket.on("error", () => {});
  return once(socket, "connect").then(() => socket);
}

const LINE = Number(values["line-bytes"]);
if (!Number.isInteger(LINE) || LINE < 1 || LINE > 65536)
  throw new Error(`--line-bytes must be a whole number from 1 to 65536, not ${values["line-bytes"]}`);
/** About 64 KiB of lines of LINE bytes, the last byte of each a line end. */
const BLOCK = Buffer.alloc(Math.max(1, Math.floor(65536 / LINE)) * LINE, "x");
for (let i = LINE - 1; i < BLOCK.length; i += LINE) BLOCK[i] = 0x0a;

/** Round trips of one honest client every 50 ms while `busy` runs: the slowest, and whether all were answered. */
async function honestDuring<T>(port: number, busy: Promise<T>): Promise<{ result: T; slowestMs: number; trips: number; failed: string | null }> {
  const socket = await connect(port);
  let text = "";
  let wake: (() => void) | null = null;
  socket.setEncoding("latin1").on("data", (chunk: string) => {
    text += chunk;
    wake?.();
  });
  let done = false;
  let slowestMs = 0;
  let trips = 0;
  let failed: string | null = null;
  const pinging = (async () => {
    while (!done && failed === null) {
      const started = performance.now();
      const want = `ping ${trips} Ali\r\n`;
      socket.write(`ping ${trips}\n`);
      while (!text.includes(want)) {
        if (socket.destroyed || performance.now() - started > 30_000) {
          failed = `no reply to ping ${trips}`;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      slowestMs = Math.max(slowestMs, performance.now() - started);
      trips++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const result = await busy;
  done = true;
  await pinging;
  socket.destroy();
  return { result, slowestMs, trips, failed };
}

async function memoryAttack(): Promise<void> {
  const clients = Number(values.clients ?? 1000);
  const perClient = Number(values["per-client-mib"]) * MiB;
  const server = await startServer(["--metrics-port", "0", ...serveArgs]);
  const findMetrics = (): string | undefined => server.log.map((line) => /metrics on (http:\S+)/.exec(line)?.[1]).find(Boolean);
  // Logged just after "listening on" is printed.
  for (let i = 0; i < 40 && findMetrics() === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const metricsUrl = findMetrics();
  const rssBefore = rssOf(server.pid);
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(server.pid))), 100);
  // Where the memory is at the highest RSS seen by a slower sampler that also reads the metrics.
  let atPeak = "";
  let slowPeak = 0;
  const gaugesOf = (text: string): string =>
    ["name_echo_client_memory_bytes", "nodejs_external_memory_bytes", "nodejs_heap_size_used_bytes"]
      .map((name) => `${name.replace(/^(name_echo_|nodejs_)/, "")} ${(Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]) / MiB).toFixed(0)}`)
      .join(", ");
  const metricsSampler = setInterval(() => {
    if (metricsUrl === undefined) return;
    void fetch(metricsUrl)
      .then((response) => response.text())
      .then((text) => {
        const rss = rssOf(server.pid);
        if (rss > slowPeak) [slowPeak, atPeak] = [rss, `RSS ${(rss / MiB).toFixed(0)} MiB: ${gaugesOf(text)} (MiB)`];
        if (values.timeline) {
          console.log(
            `  ${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s  RSS ${(rss / MiB).toFixed(0)} MiB (${rssByMapping(server.pid)}); ${gaugesOf(text)}`,
          );
        }
      })
      .catch(() => {});
  }, 500);
  const started = performance.now();
  const attack = (async () => {
    const sockets: net.Socket[] = [];
    for (let i = 0; i < clients; i += 100)
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, clients - i) }, () => connect(server.port)))));
    for (const socket of sockets) socket.pause();
    let sent = 0;
    await Promise.all(
      sockets.map(async (socket) => {
        for (let bytes = 0; bytes < perClient && !socket.destroyed; bytes += BLOCK.length) {
          if (!(await writeOrStall(socket, BLOCK, 2000))) break;
          sent += BLOCK.length;
        }
      }),
    );
    // Held for a moment, as an attacker would: what does the server hold now?
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const rssHeld = rssOf(server.pid);
    const mappings = rssByMapping(server.pid);
    const queued = serverQueuedBytes(server.port);
    const metrics = metricsUrl ? await (await fetch(metricsUrl)).text() : "";
    const gauge = (name: string): string => {
      const value = new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1];
      return value === undefined ? "n/a" : `${(Number(value) / MiB).toFixed(1)} MiB`;
    };
    const accounted =
      `held for clients (name_echo_client_memory_bytes) ${gauge("name_echo_client_memory_bytes")}, Buffers alive or awaiting GC (nodejs_external_memory_bytes) ${gauge("nodejs_external_memory_bytes")}, ` +
      `V8 heap ${gauge("nodejs_heap_size_total_bytes")}`;
    const closedByServer = server.log.filter((line) => / disconnect /.test(line)).length;
    for (const socket of sockets) socket.destroy();
    return { sent, rssHeld, queued, closedByServer, accounted, mappings };
  })();
  const { result, slowestMs, trips, failed } = await honestDuring(server.port, attack);
  clearInterval(sampler);
  clearInterval(metricsSampler);
  const { closedByServer } = result;
  console.log(
    `memory: ${clients} clients pipelining ${perClient / MiB} MiB each in lines of ${LINE} bytes, never reading; serve ${serveArgs.join(" ") || "(defaults)"}\n` +
      `  sent ${(result.sent / MiB).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s; server RSS ${(rssBefore / MiB).toFixed(0)} -> peak ${(peakRss / MiB).toFixed(0)} MiB, ${(result.rssHeld / MiB).toFixed(0)} MiB while held\n` +
      `  queued in the server's kernel send queues while held: ${(result.queued / MiB).toFixed(0)} MiB\n` +
      `  at the highest RSS the metrics sampler saw: ${atPeak}\n` +
      `  RSS while held by mapping: ${result.mappings}\n` +
      `  ${result.accounted}\n` +
      `  closed by the server before the attackers left: ${closedByServer}; honest client ${trips} round trips, slowest ${slowestMs.toFixed(0)} ms${failed ? `, FAILED: ${failed}` : ""}`,
  );
  for (const line of server.log.filter((line) => /memory full|repeated/.test(line)).slice(0, 3)) console.log(`  log: ${line}`);
  server.kill("SIGKILL");
  await server.exited;
}

/**
 * The RSS of a process by kind of mapping (/proc/PID/smaps): malloc's main heap ([heap]), anonymous
 * mappings (V8's heap, malloc's other arenas and its mmapped chunks) and files (code).
 */
function rssByMapping(pid: number): string {
  const totals = new Map<string, number>();
  let kind = "";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) kind = header[1] === "[heap]" ? "[heap]" : header[1] === "" ? "anonymous" : header[1]!.startsWith("/") ? "files" : header[1]!;
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) totals.set(kind, (totals.get(kind) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...totals]
    .filter(([, bytes]) => bytes >= MiB)
    .map(([kind, bytes]) => `${kind} ${(bytes / MiB).toFixed(0)} MiB`)
    .join(", ");
}

/** Send-Q summed over the server's sockets on `port` (bytes in its kernel for clients not reading). */
function serverQueuedBytes(port: number): number {
  const out = execFileSync("ss", ["-tnH", "src", `127.0.0.1:${port}`], { encoding: "utf8", maxBuffer: 64 * MiB });
  let total = 0;
  for (const line of out.split("\n")) {
    const match = /^\S+\s+\d+\s+(\d+)/.exec(line);
    if (match) total += Number(match[1]);
  }
  return total;
}

async function slotsAttack(): Promise<void> {
  const clients = Number(values.clients ?? 2000);
  const server = await startServer(serveArgs);
  const sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];
  const held: net.Socket[] = [];
  let turnedAway = 0;
  for (let i = 0; i < clients; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, clients - i) }, async (_, j) => {
        const socket = await connect(server.port, sources[(i + j) % sources.length]);
        // Turned away: told, then closed; otherwise held open, silent.
        const first = await Promise.race([
          once(socket, "data").then(([chunk]) => String(chunk)),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), 300)),
        ]);
        if (first?.startsWith("error:")) {
          turnedAway++;
          socket.destroy();
        } else held.push(socket);
      }),
    );
  }
  const honest = await connect(server.port, "127.0.0.1");
  let reply = "";
  honest.setEncoding("latin1").on("data", (chunk: string) => (reply += chunk));
  honest.write("honest\n");
  await Promise.race([once(honest, "data"), once(honest, "close"), new Promise((resolve) => setTimeout(resolve, 3000))]);
  console.log(
    `slots: ${clients} connects from ${sources.length} addresses; serve ${serveArgs.join(" ") || "(defaults)"}\n` +
      `  held by them: ${held.length}, turned away: ${turnedAway}; an honest client from 127.0.0.1 got: ${JSON.stringify(reply.trim())}`,
  );
  for (const socket of [...held, honest]) socket.destroy();
  server.kill("SIGKILL");
  await server.exited;
}

async function stopReadBufferAttack(): Promise<void> {
  const server = await startServer(serveArgs);
  const socket = await connect(server.port);
  socket.pause();
  let next = 0;
  for (;;) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++) lines.push(`line ${String(next++).padStart(7, "0")}`);
    if (!(await writeOrStall(socket, Buffer.from(lines.join("\n") + "\n"), 1500))) break;
  }
  const out = execFileSync("ss", ["-tnHi", "src", `127.0.0.1:${server.port}`, "dst", `127.0.0.1:${socket.localPort}`], { encoding: "utf8" });
  const read = Number(/bytes_received:(\d+)/.exec(out)![1]) - Number(/^\S+\s+(\d+)/m.exec(out)![1]);
  const linesRead = Math.floor(read / 13);
  let text = "";
  socket.setEncoding("latin1").on("data", (chunk: string) => (text += chunk));
  const ended = new Promise((resolve) => socket.once("close", resolve));
  const started = performance.now();
  server.kill("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 300));
  socket.resume();
  await ended;
  const exit = await server.exited;
  const replies = text.split("\r\n").filter((line) => line.startsWith("line ")).length;
  console.log(
    `stop-read-buffer: serve ${serveArgs.join(" ") || "(defaults)"}\n` +
      `  the server process had read ${read} bytes = ${linesRead} whole lines; answered ${replies}; ${linesRead - replies} read and never answered (${(((linesRead - replies) * 13) / MiB).toFixed(2)} MiB)\n` +
      `  last line: ${JSON.stringify(text.split("\r\n").filter(Boolean).at(-1))}; exit ${exit} after ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

async function lingerAttack(): Promise<void> {
  const clients = Number(values.clients ?? 9);
  const server = await startServer(serveArgs);
  const sockets = await Promise.all(
    Array.from({ length: clients }, async () => {
      const socket = net.connect({ port: server.port, host: "127.0.0.1", allowHalfOpen: true });
      socket.on("error", () => {});
      socket.on("data", () => {});
      await once(socket, "connect");
      socket.write("hello\n");
      await once(socket, "data");
      return socket;
    }),
  );
  const started = performance.now();
  server.kill("SIGTERM");
  const exit = await server.exited;
  console.log(
    `linger: ${clients} clients that read but never close (like nc); serve ${serveArgs.join(" ") || "(defaults)"}\n` +
      `  SIGTERM to exit (${exit}): ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const line of server.log.filter((line) => /stop/.test(line))) console.log(`  log: ${line}`);
  for (const socket of sockets) socket.destroy();
}

const attacks: Record<string, () => Promise<void>> = {
  memory: memoryAttack,
  slots: slotsAttack,
  "stop-read-buffer": stopReadBufferAttack,
  linger: lingerAttack,
};
const run = attack === undefined ? undefined : attacks[attack];
if (run === undefined) {
  console.error(`usage: attacks.js ${Object.keys(attacks).join("|")} [--clients N] [--bin PATH] [-- serve flags…]`);
  process.exitCode = 2;
} else {
  await run();
}
