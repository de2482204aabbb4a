/**
 * Micro benchmark of the protocol path alone, on Buffers, no sockets: chunks
 * of lines go through the LineFramer (the full path's framing) or through
 * the TelnetSession as a connection runs it (plain lines take its fast path,
 * plain-lines.ts) into a OutputBatch, and take() builds the one buffer a
 * read's replies are written with. This is the CPU a
 * server spends per line on top of the kernel's socket work; compare its
 * lines/s with the pipeline figure of the yardstick in bench/ (npm run
 * bench:compare) to see which side limits.
 *
 * Run: npm run bench:protocol  (or node dist/bench/protocol.bench.js [seconds per case])
 */
import { performance } from "node:perf_hooks";
import { LineFramer, type LineSink } from "../src/protocol/line-framer.js";
import { OutputBatch, ReplyEncoder } from "../src/protocol/reply.js";
import { TelnetSession } from "../src/protocol/telnet-session.js";

interface Case {
  name: string;
  /** The chunks one "read" delivers, cycled through. */
  chunks: Buffer[];
  lines: number;
}

/** `count` lines of `length` bytes each, ended by `eol`, as one buffer. */
function lines(count: number, length: number, eol: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const body = `L${String(i).padStart(6, "0")}.`.padEnd(length, "abcdefghijklmnopqrstuvwxyz"[i % 26]);
    parts.push(Buffer.from(body + eol, "latin1"));
  }
  return Buffer.concat(parts);
}

/** Splits a buffer into chunks of `size` bytes, as a byte stream may arrive. */
function split(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buffer.length; at += size) out.push(buffer.subarray(at, at + size));
  return out;
}

const CASES: Case[] = [
  // pingpong: one 24-byte line per read.
  { name: "1 line x 24 B per chunk (pingpong)", chunks: [lines(1, 24, "\r\n")], lines: 1 },
  // pipeline: what the yardstick's pipeline workload delivers per read (~50-64 lines).
  { name: "64 lines x 24 B per chunk (pipeline)", chunks: [lines(64, 24, "\r\n")], lines: 64 },
  { name: "64 lines x 24 B, LF only", chunks: [lines(64, 24, "\n")], lines: 64 },
  // A full 64 KiB read of short lines: the upper bound of lines per read.
  { name: "2,520 lines x 24 B in one 64 KiB chunk", chunks: [lines(2520, 24, "\r\n")], lines: 2520 },
  // Lines cut across chunk boundaries: the pending-line copy path.
  { name: "64 lines x 24 B cut into 100 B chunks", chunks: split(lines(64, 24, "\r\n"), 100), lines: 64 },
  // Long lines: memchr territory.
  { name: "8 lines x 1,000 B per chunk", chunks: [lines(8, 1000, "\r\n")], lines: 8 },
];

/** One way through the protocol: what a read's chunk costs, replies into `batch`. */
interface Path {
  name: string;
  make(batch: OutputBatch): (chunk: Buffer) => void;
}

const PATHS: Path[] = [
  {
    // The ceiling: bench/peers/node-raw's loop (LF or CR LF only; no telnet,
    // no edit bytes, no limit), into one buffer reused for every read.
    name: "node-raw's loop",
    make(batch) {
      const suffix = batch.suffix;
      let out = Buffer.allocUnsafe(1 << 17);
      let pending: Buffer | null = null;
      return (chunk) => {
        const n = chunk.length;
        if (out.length < n * 2 + 4096) out = Buffer.allocUnsafe(n * 2 + 65536);
        let start = 0;
        let o = 0;
        for (;;) {
          let i = start;
          while (i < n && chunk[i] !== 10) i++;
          if (i >= n) break;
          let end = i;
          if (end > start && chunk[end - 1] === 13) end--;
          if (pending !== null) {
            o += pending.copy(out, o);
            pending = null;
          }
          for (let k = start; k < end; k++) out[o++] = chunk[k]!;
          for (let k = 0; k < suffix.length; k++) out[o++] = suffix[k]!;
          start = i + 1;
        }
        if (start < n) {
          const rest = Buffer.from(chunk.subarray(start, n));
          pending = pending === null ? rest : Buffer.concat([pending, rest]);
        }
        // What the peer hands to its write: a view of the bytes.
        if (o > 0) out.subarray(0, o);
      };
    },
  },
  {
    // The full path's framing alone: LineFramer, each line's reply copied from its span.
    name: "LineFramer",
    make(batch) {
      const sink: LineSink = {
        line: (source, from, to) => (batch.addReplySpan(source, from, to), true),
        lineTooLong: () => true,
      };
      const framer = new LineFramer(sink, 8192);
      return (chunk) => void framer.push(chunk);
    },
  },
  {
    // What a connection runs: the session, whose fast path takes plain lines in one pass.
    name: "TelnetSession",
    make(batch) {
      const session = new TelnetSession({ lineTooLong: () => undefined }, null, batch, 8192);
      return (chunk) => void session.receive(chunk);
    },
  },
];

/** Runs one case for about `seconds`; returns lines per second. */
function run(testCase: Case, path: Path, seconds: number, encoder: ReplyEncoder): number {
  const batch = new OutputBatch(encoder);
  const receive = path.make(batch);
  let rounds = 0;
  const chunks = testCase.chunks;
  // The batch is taken once per round (per "read" of all the case's chunks),
  // as the connection does once per socket read.
  const round = (): void => {
    for (let i = 0; i < chunks.length; i++) receive(chunks[i]!);
    batch.take();
  };
  // Warm-up, so the JIT has optimised the path before it is timed.
  for (let i = 0; i < 2000; i++) round();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 256; i++) round();
    rounds += 256;
    now = performance.now();
  }
  const elapsed = (now - started) / 1000;
  return (rounds * testCase.lines) / elapsed;
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 1);
  const encoder = new ReplyEncoder("Ali");
  process.stdout.write(`protocol path, ns per line (${seconds} s per case and path, node ${process.version})\n\n`);
  process.stdout.write(`| case | ${PATHS.map((path) => path.name).join(" | ")} |\n|---|${PATHS.map(() => "---|").join("")}\n`);
  for (const testCase of CASES) {
    const cells = PATHS.map((path) => (1e9 / run(testCase, path, seconds, encoder)).toFixed(0));
    process.stdout.write(`| ${testCase.name} | ${cells.join(" | ")} |\n`);
  }
}

main();
