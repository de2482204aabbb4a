/**
 * `name-echo bench --report FILE.html`: a run as a page to look at. One
 * self-contained HTML file (inline CSS and SVG, no script, nothing fetched),
 * so it can be mailed, attached to an issue or opened years later:
 *
 *   - the result (replies/s, latency percentiles, errors);
 *   - throughput over time, one point a second;
 *   - the latency percentile curve from the run's HdrHistogram, on a log
 *     scale of percentiles (p50 … p99.99, as HdrHistogram plots it) and a
 *     log scale of latency;
 *   - the settings and the machine (CPU model, cores, memory, Node, OS).
 *
 * Every string from outside (the target, an error quoting a server's reply)
 * is HTML-escaped; the page's Content-Security-Policy forbids scripts anyway.
 */
import { accessSync, constants, writeFileSync } from "node:fs";
import * as os from "node:os";
import { dirname, resolve } from "node:path";
import type { Histogram } from "hdr-histogram-js";
import type { BenchOptions, BenchProgress, BenchResult } from "./load.js";
import { NameEchoError } from "../errors.js";

export interface ThroughputPoint {
  /** Seconds since the run started. */
  t: number;
  repliesPerSecond: number;
  p50Us: number;
  p99Us: number;
}

export interface PercentilePoint {
  percentile: number;
  us: number;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  os: string;
  loadAverage: number[];
}

export interface BenchReport {
  command: string;
  startedAt: Date;
  settings: Pick<BenchOptions, "host" | "port" | "clients" | "durationSeconds" | "pipeline" | "lineBytes" | "name">;
  result: BenchResult;
  throughput: ThroughputPoint[];
  percentiles: PercentilePoint[];
  machine: MachineInfo;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryBytes: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg(),
  };
}

/**
 * Percentiles for the curve: evenly spaced on the log scale of 1/(1 − p),
 * ten points a decade from p0 to p99.999, plus the marked ones exactly.
 */
export function percentileCurve(histogram: Histogram): PercentilePoint[] {
  if (histogram.totalCount === 0) return [];
  const wanted = new Set<number>([50, 90, 99, 99.9, 99.99]);
  for (let step = 0; step <= 50; step++) wanted.add(100 * (1 - 10 ** (-step / 10)));
  return [...wanted].sort((a, b) => a - b).map((percentile) => ({ percentile, us: histogram.getValueAtPercentile(percentile) }));
}

/** What `bench --report` gathers while the run lasts. */
export class BenchRecording {
  private readonly options: BenchOptions;
  private readonly command: string;
  private readonly startedAt = new Date();
  private readonly throughput: ThroughputPoint[] = [];
  private percentiles: PercentilePoint[] = [];

  constructor(options: BenchOptions, argv: string[]) {
    this.options = options;
    this.command = ["name-echo", "bench", ...argv].join(" ");
  }

  progress(p: BenchProgress): void {
    this.throughput.push({ t: p.elapsedSeconds, repliesPerSecond: Math.round(p.rate), p50Us: p.p50Us, p99Us: p.p99Us });
  }

  histogram(histogram: Histogram): void {
    this.percentiles = percentileCurve(histogram);
  }

  /** Renders and writes the report; a file that cannot be written is one clear error. */
  async write(file: string, result: BenchResult): Promise<void> {
    const { host, port, clients, durationSeconds, pipeline, lineBytes, name } = this.options;
    const html = renderBenchReport({
      command: this.command,
      startedAt: this.startedAt,
      settings: { host, port, clients, durationSeconds, pipeline, lineBytes, name },
      result,
      throughput: this.throughput,
      percentiles: this.percentiles,
      machine: machineInfo(),
    });
    try {
      writeFileSync(file, html);
    } catch (error) {
      throw new NameEchoError("ERR_INVALID_OPTION", `cannot write ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
        cause: error,
      });
    }
  }
}

/** Fails early, before the run, when the report could not be written. */
export function checkReportFile(file: string): void {
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch (error) {
    throw new NameEchoError(
      "ERR_INVALID_OPTION",
      `cannot write ${file}: its folder ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "is not writable"}`,
      {
        cause: error,
      },
    );
  }
}

// ── rendering ─────────────────────────────────────────────────────────

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const number = new Intl.NumberFormat("en-US");
const fmt = (n: number): string => number.format(Math.round(n));

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  return `${(n / (1 << 20)).toFixed(0)} MiB`;
}

/** "p99.9" for 99.9 */
function percentileLabel(p: number): string {
  return `p${Number(p.toFixed(3))}`;
}

const W = 640;
const H = 240;
const PAD = { left: 64, right: 16, top: 12, bottom: 36 };

function svgFrame(inner: string, label: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">${inner}</svg>`;
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function throughputChart(points: ThroughputPoint[], durationSeconds: number): string {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const maxRate = niceMax(Math.max(0, ...points.map((p) => p.repliesPerSecond)));
  const maxT = Math.max(durationSeconds, ...points.map((p) => p.t));
  const x = (t: number): number => PAD.left + (plotW * t) / maxT;
  const y = (v: number): number => PAD.top + plotH - (plotH * v) / maxRate;
  let grid = "";
  for (let i = 0; i <= 4; i++) {
    const v = (maxRate * i) / 4;
    grid += `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`;
    grid += `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`;
  }
  for (let i = 0; i <= 5; i++) {
    const t = (maxT * i) / 5;
    const anchor = i === 0 ? "start" : i === 5 ? "end" : "middle";
    grid += `<text x="${x(t).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="${anchor}">${Number(t.toFixed(1))} s</text>`;
  }
  // Each point is the rate over the second that ends there.
  const line =
    points.length > 0
      ? `<polyline class="series" points="${points.map((p) => `${x(p.t).toFixed(1)},${y(p.repliesPerSecond).toFixed(1)}`).join(" ")}"/>` +
        points
          .map(
            (p) =>
              `<circle class="mark" cx="${x(p.t).toFixed(1)}" cy="${y(p.repliesPerSecond).toFixed(1)}" r="3"><title>${Number(p.t.toFixed(1))} s: ${fmt(p.repliesPerSecond)} replies/s, p50 ${fmt(p.p50Us)} µs, p99 ${fmt(p.p99Us)} µs</title></circle>`,
          )
          .join("")
      : `<text x="${W / 2}" y="${H / 2}" text-anchor="middle">the run was shorter than one sample (1 s)</text>`;
  const axis = `<text x="${W / 2}" y="${H - 4}" text-anchor="middle">time</text>`;
  return svgFrame(grid + line + axis, "replies per second over the run");
}

function latencyChart(points: PercentilePoint[]): string {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  if (points.length === 0)
    return svgFrame(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no replies, no latencies</text>`, "latency by percentile");
  // x: log10(1 / (1 − p)), 0 at p0 … 5 at p99.999; y: log10 of µs.
  const xOf = (p: number): number => Math.log10(1 / Math.max(1e-5, 1 - p / 100));
  const maxX = 5;
  const lows = points.map((p) => Math.max(1, p.us));
  const minY = Math.floor(Math.log10(Math.min(...lows)));
  const maxY = Math.max(minY + 1, Math.ceil(Math.log10(Math.max(...lows))));
  const x = (p: number): number => PAD.left + (plotW * xOf(p)) / maxX;
  const y = (us: number): number => PAD.top + plotH - (plotH * (Math.log10(Math.max(1, us)) - minY)) / (maxY - minY);
  let grid = "";
  for (let e = minY; e <= maxY; e++) {
    const v = 10 ** e;
    grid += `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`;
    const label = v >= 1_000_000 ? `${v / 1_000_000} s` : v >= 1000 ? `${v / 1000} ms` : `${v} µs`;
    grid += `<text x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label}</text>`;
  }
  for (const p of [0, 90, 99, 99.9, 99.99, 99.999]) {
    const anchor = p === 0 ? "start" : p === 99.999 ? "end" : "middle";
    grid += `<line class="grid" x1="${x(p).toFixed(1)}" x2="${x(p).toFixed(1)}" y1="${PAD.top}" y2="${H - PAD.bottom}"/>`;
    grid += `<text x="${x(p).toFixed(1)}" y="${H - PAD.bottom + 16}" text-anchor="${anchor}">${p === 0 ? "p0" : percentileLabel(p)}</text>`;
  }
  // p50 sits at x = log10(2): marked on the curve rather than the axis.
  const marks = points
    .filter((p) => [50, 99, 99.9, 99.99].includes(p.percentile))
    .map(
      (p) =>
        `<circle class="mark" cx="${x(p.percentile).toFixed(1)}" cy="${y(p.us).toFixed(1)}" r="3"><title>${percentileLabel(p.percentile)} ${fmt(p.us)} µs</title></circle>`,
    )
    .join("");
  const line = `<polyline class="series" points="${points.map((p) => `${x(p.percentile).toFixed(1)},${y(p.us).toFixed(1)}`).join(" ")}"/>`;
  const axis = `<text x="${W / 2}" y="${H - 4}" text-anchor="middle">percentile (log scale of 1/(1−p))</text>`;
  return svgFrame(grid + line + marks + axis, "latency by percentile, log scales");
}

function rows(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("\n");
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1d1d1f; --bg: #fff; --muted: #6b6b70; --line: #dcdce0; --series: #0a6cd6; --bad: #c9302c; }
@media (prefers-color-scheme: dark) { :root { --fg: #ececf0; --bg: #151517; --muted: #9a9aa3; --line: #34343a; --series: #5aa7ff; --bad: #ff6b63; } }
body { margin: 0 auto; padding: 1rem; max-width: 60rem; background: var(--bg); color: var(--fg); font: 16px/1.45 system-ui, sans-serif; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; } h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.muted { color: var(--muted); } code { font-size: .9em; word-break: break-all; }
.headline { display: flex; flex-wrap: wrap; gap: .5rem 2rem; margin: 1rem 0; }
.headline b { display: block; font-size: 1.6rem; font-variant-numeric: tabular-nums; }
.bad { color: var(--bad); }
svg { width: 100%; height: auto; display: block; }
svg text { fill: var(--muted); font: 11px system-ui, sans-serif; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .series { fill: none; stroke: var(--series); stroke-width: 2; }
svg .mark { fill: var(--series); }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2rem 1rem .2rem 0; vertical-align: top; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 0 2rem; }
`;

export function renderBenchReport(report: BenchReport): string {
  const { result: r, settings: s, machine: m } = report;
  const l = r.latencyUs;
  const errors =
    r.errors > 0
      ? `<p class="bad">${fmt(r.errors)} error(s): bad replies ${r.badReplies}, lost ${r.lost}, unexpected bytes ${r.unexpectedBytes}, connection errors ${r.connectionErrors}, connect errors ${r.connectErrors}${r.firstError ? `; first: <code>${escapeHtml(r.firstError)}</code>` : ""}</p>`
      : `<p>Every reply was checked byte for byte: no errors.</p>`;
  const percentileRows: Array<[string, string]> = [50, 90, 99, 99.9, 99.99].map((p) => {
    const point = report.percentiles.find((q) => q.percentile === p);
    return [percentileLabel(p), point ? `${fmt(point.us)} µs` : "–"];
  });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>name-echo bench: ${escapeHtml(r.target)}, ${fmt(r.repliesPerSecond)} replies/s</title>
<style>${STYLE}</style>
</head>
<body>
<h1>name-echo bench: ${escapeHtml(r.target)}</h1>
<p class="muted">${escapeHtml(report.startedAt.toISOString())} · <code>${escapeHtml(report.command)}</code></p>
<div class="headline">
  <div><b>${fmt(r.repliesPerSecond)}</b><span class="muted">replies/s</span></div>
  <div><b>${fmt(l.p50)} µs</b><span class="muted">p50 latency</span></div>
  <div><b>${fmt(l.p99)} µs</b><span class="muted">p99 latency</span></div>
  <div><b>${fmt(l.max)} µs</b><span class="muted">max latency</span></div>
  <div><b${r.errors > 0 ? ' class="bad"' : ""}>${fmt(r.errors)}</b><span class="muted">errors</span></div>
</div>
${errors}
<h2>Throughput over time</h2>
${throughputChart(report.throughput, r.durationSeconds)}
<p class="muted">Good replies per second, each point the second that ends there.</p>
<h2>Latency by percentile</h2>
${latencyChart(report.percentiles)}
<p class="muted">From the run's HdrHistogram (3 significant digits): time from sending a line to the last byte of its reply.</p>
<div class="columns">
<section>
<h2>Result</h2>
<table>
${rows([
  ["replies ok", `${fmt(r.repliesOk)} in ${r.durationSeconds} s`],
  ["lines sent", fmt(r.linesSent)],
  ...percentileRows,
  ["mean", `${fmt(l.mean)} µs`],
  ["max", `${fmt(l.max)} µs`],
])}
</table>
</section>
<section>
<h2>Settings</h2>
<table>
${rows([
  ["server", r.target],
  ["clients", fmt(s.clients)],
  ["pipeline", `${fmt(s.pipeline)} line(s) in flight per client`],
  ["line", `${fmt(s.lineBytes)} bytes + CR LF`],
  ["name", s.name],
  ["duration", `${s.durationSeconds} s`],
])}
</table>
<h2>Machine (where bench ran)</h2>
<table>
${rows([
  ["CPU", m.cpuModel],
  ["cores", String(m.cores)],
  ["memory", bytes(m.memoryBytes)],
  ["Node", m.node],
  ["OS", m.os],
  ["load average", m.loadAverage.map((v) => v.toFixed(2)).join(" ")],
])}
</table>
</section>
</div>
</body>
</html>
`;
}
