/**
 * The live status page served at GET /: one self-contained HTML document
 * (inline CSS and script, no CDN, no build step, no framework) that follows
 * GET /events (Server-Sent Events) and redraws itself: the server, its
 * limits and totals, a chart of lines/s and connections over the last
 * minutes (inline SVG), and a table of the open connections.
 *
 * Client-supplied text (what a client is typing, addresses a PROXY header
 * named) reaches the page as JSON strings and is only ever put into the DOM
 * with textContent, never parsed as HTML. The Content-Security-Policy allows
 * exactly this page's one script and one style block (by hash), no other
 * script, no inline handlers, no images, and connections to this origin only,
 * so even a mistake in the script could not run a client's markup.
 */
import { createHash } from "node:crypto";

const STYLE = `
:root { color-scheme: light dark; --bg: #fafafa; --fg: #1d1d1f; --muted: #6b6b70; --line: #d9d9de; --card: #fff;
  --lines: #0a6cd6; --conns: #d2560c; --ok: #1a7f37; --warn: #b35900; --bad: #c9302c; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #151517; --fg: #ececf0; --muted: #9a9aa3; --line: #34343a; --card: #1e1e22;
    --lines: #5aa7ff; --conns: #ff9a52; --ok: #4cc26a; --warn: #f0a040; --bad: #ff6b63; }
}
* { box-sizing: border-box; }
html { font-size: clamp(15px, 0.55vw + 11px, 26px); }
body { margin: 0; padding: 1rem; background: var(--bg); color: var(--fg);
  font: 1rem/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; margin-bottom: .75rem; }
h1 { font-size: 1.5rem; margin: 0; }
.muted { color: var(--muted); }
#state { font-weight: 600; }
#state.listening { color: var(--ok); } #state.closing, #state.closed, #state.offline { color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: .5rem; margin-bottom: .75rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
.card b { display: block; font-size: 1.4rem; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); font-size: .85rem; }
#limits { font-size: .85rem; margin: 0 0 .75rem; }
figure { margin: 0 0 .75rem; background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; }
figcaption { font-size: .85rem; color: var(--muted); }
.key-lines { color: var(--lines); font-weight: 600; } .key-conns { color: var(--conns); font-weight: 600; }
svg { display: block; width: 100%; height: 9rem; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .lines { fill: none; stroke: var(--lines); stroke-width: 2; vector-effect: non-scaling-stroke; }
svg .conns { fill: none; stroke: var(--conns); stroke-width: 2; vector-effect: non-scaling-stroke; }
.axis { display: flex; justify-content: space-between; font-size: .8rem; color: var(--muted); }
.table { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: .5rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .6rem; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--line); }
th { font-size: .8rem; color: var(--muted); font-weight: 600; position: sticky; top: 0; background: var(--card); }
th.l, td.l { text-align: left; }
td.typing { font-family: ui-monospace, Menlo, Consolas, monospace; max-width: 18rem; overflow: hidden; text-overflow: ellipsis; }
td.paused { color: var(--warn); font-weight: 600; } td.closing { color: var(--bad); }
tr:last-child td { border-bottom: 0; }
#empty { padding: .75rem; color: var(--muted); }
#more { font-size: .85rem; margin: .5rem 0 0; }
@media (max-width: 40rem) { .wide { display: none; } body { padding: .5rem; } }
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const number = new Intl.NumberFormat();
const rows = new Map();
let history = [];

function text(id, value) { $(id).textContent = value; }
function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + (s % 60) + " s";
  const h = Math.floor(m / 60);
  return h < 48 ? h + " h " + (m % 60) + " min" : Math.floor(h / 24) + " d " + (h % 24) + " h";
}
function bytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1073741824) return (n / 1048576).toFixed(1) + " MiB";
  return (n / 1073741824).toFixed(2) + " GiB";
}
function endpoint(e) { return e.family === "IPv6" ? "[" + e.address + "]:" + e.port : e.address + ":" + e.port; }

function showStatus(s) {
  text("name", "name-echo “" + s.name + "”");
  text("address", s.address ? "on " + s.address + (s.tls ? " (TLS)" : "") + (s.proxyProtocol ? " (PROXY protocol)" : "") : "not listening");
  $("state").className = s.state;
  text("state", s.state);
  text("uptime", "up " + duration(s.uptimeMs) + (s.workers > 1 ? ", " + s.workers + " workers" : "") + ", Node " + s.node);
  const t = s.totals;
  text("open", number.format(t.connectionsOpen));
  text("total", number.format(t.connectionsTotal));
  text("lines", number.format(t.lines));
  text("in", bytes(t.bytesIn));
  text("out", bytes(t.bytesOut));
  let rejected = 0;
  for (const kind in t.rejections) rejected += t.rejections[kind];
  text("rejected", number.format(rejected));
  const l = s.limits;
  text("limits", "limits: lines ≤ " + number.format(l.maxLineLength) + " bytes · ≤ " + number.format(l.maxConnections) +
    " clients · idle timeout " + (l.idleTimeoutSeconds > 0 ? l.idleTimeoutSeconds + " s" : "off") +
    " · unsent ≤ " + bytes(l.maxUnsentBytes) + " per client · shutdown " + l.shutdownTimeoutSeconds + " s");
}

function cell(tr, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  tr.appendChild(td);
  return td;
}
const COLUMNS = [
  ["id", ""], ["remote", "l"], ["local", "l wide"], ["state", "l"], ["mode", "l"], ["connected", ""], ["idle", "wide"],
  ["lines", ""], ["in", "wide"], ["out", "wide"], ["unsent", "wide"], ["typing", "l typing"],
];
function newRow(key) {
  const tr = document.createElement("tr");
  tr.dataset.key = key;
  const cells = {};
  for (const [name, className] of COLUMNS) cells[name] = cell(tr, className);
  rows.set(key, { tr, cells });
  return rows.get(key);
}
function showConnections(list, total) {
  const body = $("rows");
  const seen = new Set();
  for (const c of list) {
    const key = (c.worker === undefined ? "" : c.worker + "-") + c.id;
    seen.add(key);
    const row = rows.get(key) || newRow(key);
    const v = row.cells;
    v.id.textContent = key;
    v.remote.textContent = endpoint(c.remote);
    v.local.textContent = endpoint(c.local) + (c.tls ? " TLS" : "");
    v.state.textContent = c.state;
    v.state.className = "l " + c.state;
    v.mode.textContent = (c.telnet.mode === "character" ? "char" : "line") + " · " + c.telnet.echo + " echo";
    v.connected.textContent = duration(c.connectedForMs);
    v.idle.textContent = duration(c.idleForMs);
    v.lines.textContent = number.format(c.lines);
    v.in.textContent = bytes(c.bytesIn);
    v.out.textContent = bytes(c.bytesOut);
    v.unsent.textContent = bytes(c.unsentBytes);
    v.typing.textContent = c.typing;
    v.typing.title = c.typing;
    if (row.tr.parentNode !== body) body.appendChild(row.tr);
  }
  for (const [key, row] of rows) {
    if (!seen.has(key)) { row.tr.remove(); rows.delete(key); }
  }
  $("empty").hidden = list.length > 0;
  $("more").hidden = total <= list.length;
  text("more", "showing the first " + number.format(list.length) + " of " + number.format(total) + " connections; all of them: /connections");
}

function polyline(points, className) {
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("class", className);
  line.setAttribute("points", points.join(" "));
  return line;
}
function showChart() {
  const svg = $("chart");
  const W = 600, H = 140, top = 4, bottom = H - 4;
  while (svg.firstChild) svg.firstChild.remove();
  for (const y of [top, (top + bottom) / 2, bottom]) {
    const g = document.createElementNS(SVG, "line");
    g.setAttribute("class", "grid"); g.setAttribute("x1", 0); g.setAttribute("x2", W); g.setAttribute("y1", y); g.setAttribute("y2", y);
    svg.appendChild(g);
  }
  if (history.length === 0) return;
  const end = history[history.length - 1].t, span = 300000;
  const maxLines = Math.max(1, ...history.map((s) => s.linesPerSecond));
  const maxConns = Math.max(1, ...history.map((s) => s.connections));
  const x = (t) => (W * (t - (end - span)) / span).toFixed(1);
  const y = (v, max) => (bottom - (bottom - top) * v / max).toFixed(1);
  svg.appendChild(polyline(history.map((s) => x(s.t) + "," + y(s.linesPerSecond, maxLines)), "lines"));
  svg.appendChild(polyline(history.map((s) => x(s.t) + "," + y(s.connections, maxConns)), "conns"));
  text("max-lines", number.format(Math.round(maxLines)) + " lines/s");
  text("max-conns", number.format(maxConns) + " connections");
  const last = history[history.length - 1];
  text("rate", number.format(last.linesPerSecond) + " lines/s");
}

function connect() {
  const events = new EventSource("events");
  events.addEventListener("update", (event) => {
    const u = JSON.parse(event.data);
    if (u.history) history = u.history;
    if (u.sample) { history.push(u.sample); if (history.length > 300) history.shift(); }
    showStatus(u.status);
    showConnections(u.connections, u.total);
    showChart();
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
  events.addEventListener("error", () => {
    $("state").className = "offline";
    text("state", "reconnecting…");
  });
}
connect();
`;

const hash = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** Only this page's own script and style; data from this origin only; nothing else at all. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>name-echo status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1 id="name">name-echo</h1>
  <span id="address" class="muted"></span>
  <span id="state">connecting…</span>
  <span id="uptime" class="muted"></span>
</header>
<section class="cards" aria-label="totals">
  <div class="card"><b id="open">–</b><span>connected now</span></div>
  <div class="card"><b id="total">–</b><span>connections since start</span></div>
  <div class="card"><b id="lines">–</b><span>lines answered</span></div>
  <div class="card"><b id="in">–</b><span>received</span></div>
  <div class="card"><b id="out">–</b><span>sent</span></div>
  <div class="card"><b id="rejected">–</b><span>limits hit</span></div>
</section>
<p id="limits" class="muted"></p>
<figure>
  <div class="axis"><span id="max-lines" class="key-lines"></span><span id="max-conns" class="key-conns"></span></div>
  <svg id="chart" viewBox="0 0 600 140" preserveAspectRatio="none" role="img" aria-label="lines per second and connections, last 5 minutes"></svg>
  <div class="axis"><span>−5 min</span><span>now</span></div>
  <figcaption><span class="key-lines">lines/s</span> (<span id="rate">–</span>) and <span class="key-conns">connections</span>, last 5 minutes, each on its own scale</figcaption>
</figure>
<div class="table">
<table>
<thead><tr>
  <th>id</th><th class="l">client</th><th class="l wide">server</th><th class="l">state</th><th class="l">telnet</th>
  <th>connected</th><th class="wide">idle</th><th>lines</th><th class="wide">in</th><th class="wide">out</th><th class="wide">unsent</th><th class="l">typing</th>
</tr></thead>
<tbody id="rows"></tbody>
</table>
<div id="empty">No clients connected. Try <code>telnet</code> or <code>name-echo connect</code>.</div>
</div>
<p id="more" class="muted" hidden></p>
<script>${SCRIPT}</script>
</body>
</html>
`;

export const STATUS_PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": STATUS_PAGE_CSP,
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};
