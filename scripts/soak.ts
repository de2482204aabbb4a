/**
 * Soak test: one real server process, many clients for many minutes, most
 * of them good and some of them nasty. Outside `npm test` because it takes
 * minutes:
 *
 *   npm run soak -- --clients 1000 --minutes 5
 *
 * Good clients send batches of lines and check every reply, byte for byte.
 * Bad clients send junk, endless lines, reset mid-line, trickle one byte at a
 * time (slowloris) and then go silent, pipeline without ever reading, or just
 * connect and leave. It prints the server's memory every --report-seconds and
 * a summary at the end, and exits 1 if any good client lost a reply or got a
 * wrong one. Loopback only; the server is a child process it starts and stops.
 */
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { MiB, startFaultServe, type ServerProcess } from "../test/helpers/fault.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "100" },
    minutes: { type: "string", default: "1" },
    "report-seconds": { type: "string", default: "15" },
    "good-share": { type: "string", default: "0.6" },
    /** Only these kinds of bad client, e.g. to find which one hurts: --bad never-reads,endless */
    bad: { type: "string" },
  },
});
const CLIENTS = positive(values.clients!, "--clients");
const DURATION_MS = positive(values.minutes!, "--minutes") * 60_000;
const REPORT_MS = positive(values["report-seconds"]!, "--report-seconds") * 1000;
const GOOD_SHARE = Math.min(1, positive(values["good-share"]!, "--good-share"));
/** Short enough that slowloris clients that go silent are closed many times during a soak. */
const IDLE_TIMEOUT_S = 5;
const NAME = "Ali";

function positive(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`soak: ${flag} must be a positive number, not ${JSON.stringify(text)}\n`);
    process.exit(2);
  }
  return value;
}

type BadKind = "junk" | "endless" | "reset" | "slowloris" | "never-reads" | "churn";
const ALL_BAD_KINDS: BadKind[] = ["junk", "endless", "reset", "slowloris", "never-reads", "churn"];
const BAD_KINDS: BadKind[] = values.bad === undefined ? ALL_BAD_KINDS : (values.bad.split(",") as BadKind[]);
for (const kind of BAD_KINDS) {
  if (!ALL_BAD_KINDS.includes(kind)) {
    process.stderr.write(`soak: --bad takes a comma-separated list of ${ALL_BAD_KINDS.join(", ")}; not ${JSON.stringify(kind)}\n`);
    process.exit(2);
  }
}

const stats = {
  goodExpected: 0,
  goodReceived: 0,
  goodWrong: 0,
  goodLost: 0,
  goodBatches: 0,
  latencies: [] as number[],
  /** Round trips of the first batch on each new connection: these include the server accepting it. */
  firstLatencies: [] as number[],
  connections: new Map<string, number>(),
  errors: new Map<string, number>(),
  notices: new Map<string, number>(),
};

function count(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

const deadline = Date.now() + DURATION_MS;
const running = (): boolean => Date.now() < deadline;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const random = (below: number): number => Math.floor(Math.random() * below);

/** Connects, counting the attempt and any failure under `kind`. */
function open(port: number, kind: string): Promise<net.Socket | null> {
  count(stats.connections, kind);
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException): void => {
      count(stats.errors, `${kind}: connect ${error.code ?? error.message}`);
      resolve(null);
    };
    socket.once("error", onError);
  });
}

/** Splits the server's output into CR LF lines as it comes. */
function lineReader(socket: net.Socket, onLine: (line: Buffer) => void): void {
  let tail = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    let data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let at: number;
    while ((at = data.indexOf("\r\n")) !== -1) {
      onLine(data.subarray(0, at));
      data = data.subarray(at + 2);
    }
    tail = Buffer.from(data);
  });
}

function noteNotice(kind: string, line: Buffer): void {
  const text = line.toString("latin1");
  if (text.startsWith("error: ") || text.startsWith("closing: ")) count(stats.notices, `${kind}: ${text.replace(/\d+/g, "N")}`);
}

/**
 * A good client: batches of lines (ASCII, UTF-8, empty), every reply checked
 * in order. Reconnects now and then, so connection set-up and tear-down are
 * soaked too. Lines still owed when its connection dies count as lost.
 */
async function goodClient(port: number, id: number): Promise<void> {
  let seq = 0;
  while (running()) {
    const socket = await open(port, "good");
    if (socket === null) {
      await pause(200);
      continue;
    }
    const owed: Buffer[] = [];
    let wake: (() => void) | null = null;
    let gone = false;
    lineReader(socket, (reply) => {
      const line = owed.shift();
      if (line === undefined) {
        count(stats.errors, "good: reply nobody asked for");
        return;
      }
      const expected = line.length === 0 ? Buffer.from(NAME) : Buffer.concat([line, Buffer.from(` ${NAME}`)]);
      if (reply.equals(expected)) stats.goodReceived++;
      else stats.goodWrong++;
      if (owed.length === 0) wake?.();
    });
    socket.on("error", (error: NodeJS.ErrnoException) => count(stats.errors, `good: ${error.code ?? error.message}`));
    socket.on("close", () => {
      gone = true;
      wake?.();
    });
    const batches = 20 + random(200);
    for (let b = 0; b < batches && running() && !gone; b++) {
      const lines: Buffer[] = [];
      for (let n = 1 + random(20); n > 0; n--) {
        const pick = random(10);
        lines.push(Buffer.from(pick === 0 ? "" : pick === 1 ? `ünïcödé ✓ ${id}-${seq++} 😀` : `line ${id}-${seq++} ${"x".repeat(random(200))}`));
      }
      owed.push(...lines);
      stats.goodExpected += lines.length;
      const started = performance.now();
      // Random line ends of every kind the protocol accepts, all in one write.
      const ends = ["\n", "\r\n", "\r\0"];
      socket.write(Buffer.concat(lines.flatMap((line) => [line, Buffer.from(ends[random(ends.length)]!)])));
      await new Promise<void>((resolve) => {
        if (owed.length === 0 || gone) return resolve();
        wake = resolve;
      });
      wake = null;
      stats.latencies.push(performance.now() - started);
      if (b === 0) stats.firstLatencies.push(performance.now() - started);
      stats.goodBatches++;
      await pause(random(300));
    }
    if (!gone) {
      socket.end();
      await new Promise<void>((resolve) => (gone ? resolve() : socket.once("close", () => resolve())));
    }
    if (owed.length > 0) {
      stats.goodLost += owed.length;
      count(stats.errors, "good: connection closed with replies owed");
    }
  }
}

/** A bad client of one kind, over and over until the deadline. */
async function badClient(port: number, kind: BadKind): Promise<void> {
  while (running()) {
    const socket = await open(port, kind);
    if (socket === null) {
      await pause(200);
      continue;
    }
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", (error: NodeJS.ErrnoException) => count(stats.errors, `${kind}: ${error.code ?? error.message}`));
    lineReader(socket, (line) => noteNotice(kind, line));
    switch (kind) {
      case "junk": {
        for (let i = 0; i < 20 && running(); i++) {
          const junk = Buffer.alloc(1 + random(4096));
          for (let j = 0; j < junk.length; j++) junk[j] = random(256);
          socket.write(junk);
          await pause(random(200));
        }
        socket.end();
        break;
      }
      case "endless": {
        // A few MB of one line with no end, respecting backpressure, then a line end and leave.
        const chunk = Buffer.alloc(64 * 1024, "e");
        for (let i = 0; i < 64 && running() && !socket.destroyed; i++) {
          if (!socket.write(chunk)) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
        }
        socket.end("\nbye\n");
        break;
      }
      case "reset": {
        socket.write(`a line cut short ${"r".repeat(random(500))}`);
        await pause(random(500));
        socket.resetAndDestroy();
        break;
      }
      case "slowloris": {
        // One byte every 400 ms for a line, then silence: the idle timeout must close it.
        for (const byte of Buffer.from("slow and steady\n")) {
          if (!running() || socket.destroyed) break;
          socket.write(Buffer.of(byte));
          await pause(400);
        }
        break; // and wait, silent, for the server's idle notice and close
      }
      case "never-reads": {
        socket.pause();
        const lines = Buffer.alloc(64 * 1024, "pipelined and never read back\n");
        for (let i = 0; i < 80 && running() && !socket.destroyed; i++) {
          if (!socket.write(lines)) {
            // Stalled: the server stopped reading us, as it should. Hold on a while, then leave.
            await Promise.race([pause(2000 + random(3000)), closed]);
            break;
          }
        }
        socket.destroy();
        break;
      }
      case "churn": {
        if (random(2) === 0) socket.end();
        else socket.destroy();
        await pause(random(50));
        break;
      }
    }
    // A breather between rounds: bad clients should be many and varied, not
    // a single tight loop that only measures how fast loopback moves bytes.
    await pause(random(1000));
    // Whatever it did, wait for the connection to be over (the idle timeout
    // ends the silent ones), but never past the deadline by much.
    await Promise.race([closed, pause(Math.max(0, deadline - Date.now()) + 1000)]);
    socket.destroy();
  }
}

/**
 * The kernel's TCP memory, machine-wide (pages, from /proc/net/sockstat) and
 * how often it has hit memory pressure (from /proc/net/netstat). Clients that
 * never read park megabytes in kernel socket buffers, outside the server's
 * RSS; past net.ipv4.tcp_mem the kernel drops packets for every connection.
 */
function kernelTcp(): { memPages: number; pressures: number; rcvQueueDrops: number } {
  try {
    const memPages = Number(/^TCP:.* mem (\d+)/m.exec(readFileSync("/proc/net/sockstat", "utf8"))?.[1] ?? 0);
    const netstat = readFileSync("/proc/net/netstat", "utf8")
      .split("\n")
      .filter((line) => line.startsWith("TcpExt:"));
    const names = netstat[0]?.split(/\s+/) ?? [];
    const numbers = netstat[1]?.split(/\s+/) ?? [];
    const field = (name: string): number => Number(numbers[names.indexOf(name)] ?? 0);
    return { memPages, pressures: field("TCPMemoryPressures"), rcvQueueDrops: field("TCPRcvQDrop") };
  } catch {
    return { memPages: 0, pressures: 0, rcvQueueDrops: 0 };
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const server: ServerProcess = await startFaultServe([
    "--quiet",
    "--idle-timeout",
    String(IDLE_TIMEOUT_S),
    "--max-connections",
    String(CLIENTS * 2 + 100),
  ]);
  // If the soak itself dies (Ctrl-C, a closed pipe), its server must not outlive it.
  process.once("exit", () => server.child.kill("SIGKILL"));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, () => process.exit(130));
  const started = Date.now();
  const kernelAtStart = kernelTcp();
  let kernelPeakPages = kernelAtStart.memPages;
  const rssSamples: Array<[seconds: number, bytes: number]> = [[0, server.rss()]];
  const goodCount = Math.round(CLIENTS * GOOD_SHARE);
  process.stdout.write(
    `soak: ${CLIENTS} clients (${goodCount} good, ${CLIENTS - goodCount} bad: ${BAD_KINDS.join(", ")}) ` +
      `for ${DURATION_MS / 60_000} min against pid ${server.pid} on 127.0.0.1:${server.port}; ` +
      `server RSS at start ${(rssSamples[0]![1] / MiB).toFixed(1)} MiB\n`,
  );
  // The clients share one process: when it falls behind, every round trip
  // it measures looks slow. Its own event-loop delay tells the two apart.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  let worstLoopDelay = 0;
  const reporter = setInterval(() => {
    const seconds = Math.round((Date.now() - started) / 1000);
    const rss = server.rss();
    rssSamples.push([seconds, rss]);
    const sorted = stats.latencies.slice(-5000).sort((a, b) => a - b);
    process.stdout.write(
      `t=${String(seconds).padStart(4)}s  server RSS ${(rss / MiB).toFixed(1).padStart(6)} MiB  ` +
        `good replies ${stats.goodReceived}/${stats.goodExpected} (wrong ${stats.goodWrong}, lost ${stats.goodLost})  ` +
        `batch p50 ${percentile(sorted, 50).toFixed(1)} ms p99 ${percentile(sorted, 99).toFixed(1)} ms  ` +
        `(soak's own event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms)\n`,
    );
    worstLoopDelay = Math.max(worstLoopDelay, loopDelay.max / 1e6);
    kernelPeakPages = Math.max(kernelPeakPages, kernelTcp().memPages);
    loopDelay.reset();
  }, REPORT_MS);

  const clients: Array<Promise<void>> = [];
  for (let i = 0; i < CLIENTS; i++) {
    clients.push(i < goodCount ? goodClient(server.port, i) : badClient(server.port, BAD_KINDS[i % BAD_KINDS.length]!));
    // Ramp up over a second or so rather than one connect storm.
    if (i % 50 === 49) await pause(50);
  }
  await Promise.all(clients);
  clearInterval(reporter);
  loopDelay.disable();

  // After all of it: does it still answer, and where did memory end up?
  const check = await open(server.port, "final check");
  let finalOk = false;
  if (check) {
    finalOk = await new Promise<boolean>((resolve) => {
      lineReader(check, (line) => resolve(line.toString() === `still there? ${NAME}`));
      check.once("close", () => resolve(false));
      check.write("still there?\n");
    });
    check.destroy();
  }
  const rssEnd = server.rss();
  rssSamples.push([Math.round((Date.now() - started) / 1000), rssEnd]);
  const exitCode = await server.stop();

  const sorted = stats.latencies.sort((a, b) => a - b);
  const firstSorted = stats.firstLatencies.sort((a, b) => a - b);
  const kernelAtEnd = kernelTcp();
  const rssValues = rssSamples.map(([, bytes]) => bytes);
  const warm = rssSamples.find(([seconds]) => seconds * 1000 >= DURATION_MS / 4) ?? rssSamples.at(-1)!;
  const rssMiB = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
  const lines = [
    "",
    `summary: ${CLIENTS} clients for ${((Date.now() - started) / 60_000).toFixed(1)} min`,
    `  good clients: replies expected ${stats.goodExpected}, received ${stats.goodReceived}, wrong ${stats.goodWrong}, lost ${stats.goodLost}` +
      ` (${stats.goodBatches} batches; batch round trip p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(0)} ms;` +
      ` the soak process's own event loop stalled up to ${worstLoopDelay.toFixed(0)} ms)`,
    `  first batch on a new connection (includes the server accepting it): p50 ${percentile(firstSorted, 50).toFixed(1)} ms, p99 ${percentile(firstSorted, 99).toFixed(1)} ms, max ${(firstSorted.at(-1) ?? 0).toFixed(0)} ms`,
    `  kernel TCP memory (machine-wide, both ends of loopback): peak ${((kernelPeakPages * 4096) / MiB).toFixed(0)} MiB; ` +
      `memory-pressure episodes ${kernelAtEnd.pressures - kernelAtStart.pressures}, packets dropped for lack of receive memory ${kernelAtEnd.rcvQueueDrops - kernelAtStart.rcvQueueDrops}`,
    `  connections by kind: ${[...stats.connections].map(([kind, n]) => `${kind} ${n}`).join(", ")}`,
    `  notices seen by bad clients: ${[...stats.notices].map(([what, n]) => `${n}× "${what}"`).join("; ") || "none"}`,
    `  client-side errors by kind: ${[...stats.errors].map(([what, n]) => `${what} ${n}`).join(", ") || "none"}`,
    `  server RSS: start ${rssMiB(rssValues[0]!)}, min ${rssMiB(Math.min(...rssValues))}, max ${rssMiB(Math.max(...rssValues))}, end ${rssMiB(rssEnd)}` +
      // Warm-up (buffers, JIT, V8 heap sizing) is over after the first quarter; growth after that would be a leak.
      `; after warm-up (t=${warm[0]}s) to end: ${rssEnd >= warm[1] ? "+" : ""}${((rssEnd - warm[1]) / MiB).toFixed(1)} MiB`,
    `  after the soak the server ${finalOk ? "answered normally" : "DID NOT ANSWER"}; it stopped with exit code ${exitCode}` +
      `; its log had ${server.log.length} lines (warnings and errors only)`,
  ];
  const pass = stats.goodExpected === stats.goodReceived && stats.goodWrong === 0 && stats.goodLost === 0 && finalOk && exitCode === 0;
  lines.push(`  verdict: ${pass ? "PASS" : "FAIL"}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  if (server.log.length > 0)
    process.stdout.write(
      `server log:\n${server.log
        .slice(-20)
        .map((l) => `  ${l}`)
        .join("\n")}\n`,
    );
  process.exitCode = pass ? 0 : 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
