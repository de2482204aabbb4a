/**
 * The status page's script: follows GET /events and redraws the page (the
 * server, its limits and totals, the chart, the table of connections).
 *
 * Compiled for the browser by this folder's tsconfig.json (the DOM's types,
 * not Node's) and inlined by ../status-page.ts into the one self-contained
 * page, allowed by its hash in the Content-Security-Policy. It is built
 * against the JSON's own types (../status-json.ts): COLUMN_OF names a column
 * for every field of a /connections row, so a field added there does not
 * compile until the table shows it, and the browser test checks that each
 * one does. One file with type-only imports, so the compiled output is one
 * script with nothing to load.
 *
 * Client-supplied text (what a client is typing, addresses a PROXY header
 * named) is only ever put into the DOM with textContent, never parsed as HTML.
 */
import type { EndpointJSON } from "../../endpoint.js";
import type { ConnectionInfo, LiveUpdate, Sample, ServerStatus } from "../status-json.js";

const SVG = "http://www.w3.org/2000/svg";
const number = new Intl.NumberFormat();
/** The chart's span: the server keeps five minutes of samples, one a second. */
const CHART_SPAN_MS = 300_000;
const CHART_SAMPLES = 300;

function $(id: string): HTMLElement {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

function text(id: string, value: string): void {
  $(id).textContent = value;
}

function duration(ms: number | null): string {
  if (ms === null) return "–";
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

function endpoint(e: EndpointJSON): string {
  return e.family === "IPv6" ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** A row's id on the page: the worker's number first under `serve --workers`, where ids repeat across workers. */
function rowKey(c: ConnectionInfo): string {
  return c.worker === undefined ? String(c.id) : `${c.worker}-${c.id}`;
}

function showStatus(s: ServerStatus): void {
  text("name", `name-echo “${s.name}”`);
  text("address", s.address ? `on ${s.address}${s.tls ? " (TLS)" : ""}${s.proxyProtocol ? " (PROXY protocol)" : ""}` : "not listening");
  $("state").className = s.state;
  text("state", s.state);
  text("uptime", `up ${duration(s.uptimeMs)}${s.workers > 1 ? `, ${s.workers} workers` : ""}, Node ${s.node}`);
  const t = s.totals;
  text("open", number.format(t.connectionsOpen));
  text("total", number.format(t.connectionsTotal));
  text("lines", number.format(t.lines));
  text("in", bytes(t.bytesIn));
  text("out", bytes(t.bytesOut));
  const rejected = Object.values(t.rejections).reduce((sum, count) => sum + count, 0);
  text("rejected", number.format(rejected));
  const l = s.limits;
  text(
    "limits",
    `limits: lines ≤ ${number.format(l.maxLineLength)} bytes · ≤ ${number.format(l.maxConnections)} clients · idle timeout ${
      l.idleTimeoutSeconds > 0 ? `${l.idleTimeoutSeconds} s` : "off"
    } · unsent ≤ ${bytes(l.maxUnsentBytes)} per client · shutdown ${l.shutdownTimeoutSeconds} s`,
  );
}

interface Column {
  head: string;
  /** l: left-aligned; wide: hidden on a narrow screen. */
  className: string;
  text(c: ConnectionInfo): string;
}

/** The table's columns, in order. */
const COLUMNS = {
  id: { head: "id", className: "", text: rowKey },
  client: { head: "client", className: "l", text: (c) => endpoint(c.remote) },
  server: { head: "server", className: "l wide", text: (c) => endpoint(c.local) },
  transport: { head: "transport", className: "l wide", text: (c) => (c.tls ? `${c.transport} · TLS` : c.transport) },
  state: { head: "state", className: "l", text: (c) => c.state },
  telnet: { head: "telnet", className: "l", text: (c) => `${c.telnet.mode === "character" ? "char" : "line"} · ${c.telnet.echo} echo` },
  connected: { head: "connected", className: "", text: (c) => duration(c.connectedForMs) },
  idle: { head: "idle", className: "wide", text: (c) => duration(c.idleForMs) },
  lines: { head: "lines", className: "", text: (c) => number.format(c.lines) },
  tooLong: { head: "too long", className: "wide", text: (c) => number.format(c.linesTooLong) },
  in: { head: "in", className: "wide", text: (c) => bytes(c.bytesIn) },
  out: { head: "out", className: "wide", text: (c) => bytes(c.bytesOut) },
  unsent: { head: "unsent", className: "wide", text: (c) => bytes(c.unsentBytes) },
  pending: { head: "pending", className: "wide", text: (c) => bytes(c.pendingBytes) },
  typing: { head: "typing", className: "l typing", text: (c) => c.typing },
} satisfies Record<string, Column>;

type ColumnName = keyof typeof COLUMNS;

/**
 * The column that shows each field of a row. Keyed by every field of
 * ConnectionInfo: one added there does not compile until it has a column
 * here (and a cell's data-fields tell the browser test where to look).
 */
const COLUMN_OF: Record<keyof ConnectionInfo, ColumnName> = {
  id: "id",
  worker: "id",
  remote: "client",
  local: "server",
  transport: "transport",
  tls: "transport",
  state: "state",
  telnet: "telnet",
  connectedForMs: "connected",
  idleForMs: "idle",
  lines: "lines",
  linesTooLong: "tooLong",
  bytesIn: "in",
  bytesOut: "out",
  unsentBytes: "unsent",
  pendingBytes: "pending",
  typing: "typing",
};

const COLUMN_NAMES = Object.keys(COLUMNS) as ColumnName[];
/** Each column's fields, space-separated: its cells' data-fields. */
const FIELDS_IN = Object.fromEntries(
  COLUMN_NAMES.map((name) => [
    name,
    Object.keys(COLUMN_OF)
      .filter((field) => COLUMN_OF[field as keyof ConnectionInfo] === name)
      .join(" "),
  ]),
) as Record<ColumnName, string>;

interface Row {
  tr: HTMLTableRowElement;
  cells: Record<ColumnName, HTMLTableCellElement>;
}

const rows = new Map<string, Row>();
let history: Sample[] = [];

function showHeads(): void {
  const tr = $("heads");
  for (const name of COLUMN_NAMES) {
    const th = document.createElement("th");
    th.textContent = COLUMNS[name].head;
    th.className = COLUMNS[name].className;
    tr.appendChild(th);
  }
}

function newRow(key: string): Row {
  const tr = document.createElement("tr");
  tr.dataset.key = key;
  const cells = {} as Record<ColumnName, HTMLTableCellElement>;
  for (const name of COLUMN_NAMES) {
    const td = document.createElement("td");
    td.className = COLUMNS[name].className;
    td.dataset.fields = FIELDS_IN[name];
    tr.appendChild(td);
    cells[name] = td;
  }
  const row = { tr, cells };
  rows.set(key, row);
  return row;
}

function showConnections(list: ConnectionInfo[], total: number): void {
  const body = $("rows");
  const seen = new Set<string>();
  for (const c of list) {
    const key = rowKey(c);
    seen.add(key);
    const row = rows.get(key) ?? newRow(key);
    for (const name of COLUMN_NAMES) row.cells[name].textContent = COLUMNS[name].text(c);
    row.cells.state.className = `l ${c.state}`;
    row.cells.typing.title = c.typing;
    if (row.tr.parentNode !== body) body.appendChild(row.tr);
  }
  for (const [key, row] of rows) {
    if (!seen.has(key)) {
      row.tr.remove();
      rows.delete(key);
    }
  }
  $("empty").hidden = list.length > 0;
  $("more").hidden = total <= list.length;
  text("more", `showing the first ${number.format(list.length)} of ${number.format(total)} connections; all of them: /connections`);
}

function svgElement(name: string, attributes: Record<string, string>): SVGElement {
  const element = document.createElementNS(SVG, name);
  for (const [attribute, value] of Object.entries(attributes)) element.setAttribute(attribute, value);
  return element;
}

function showChart(): void {
  const svg = $("chart");
  const W = 600;
  const H = 140;
  const top = 4;
  const bottom = H - 4;
  while (svg.firstChild) svg.firstChild.remove();
  for (const y of [top, (top + bottom) / 2, bottom]) {
    svg.appendChild(svgElement("line", { class: "grid", x1: "0", x2: String(W), y1: String(y), y2: String(y) }));
  }
  const last = history.at(-1);
  if (last === undefined) return;
  const maxLines = Math.max(1, ...history.map((s) => s.linesPerSecond));
  const maxConns = Math.max(1, ...history.map((s) => s.connections));
  const x = (t: number): string => ((W * (t - (last.t - CHART_SPAN_MS))) / CHART_SPAN_MS).toFixed(1);
  const y = (v: number, max: number): string => (bottom - ((bottom - top) * v) / max).toFixed(1);
  const polyline = (className: string, point: (s: Sample) => string): SVGElement =>
    svgElement("polyline", { class: className, points: history.map(point).join(" ") });
  svg.appendChild(polyline("lines", (s) => `${x(s.t)},${y(s.linesPerSecond, maxLines)}`));
  svg.appendChild(polyline("conns", (s) => `${x(s.t)},${y(s.connections, maxConns)}`));
  text("max-lines", `${number.format(Math.round(maxLines))} lines/s`);
  text("max-conns", `${number.format(maxConns)} connections`);
  text("rate", `${number.format(last.linesPerSecond)} lines/s`);
}

function follow(): void {
  const events = new EventSource("events");
  events.addEventListener("update", (event) => {
    const update = JSON.parse(event.data) as LiveUpdate;
    if (update.history) history = update.history;
    if (update.sample) {
      history.push(update.sample);
      if (history.length > CHART_SAMPLES) history.shift();
    }
    showStatus(update.status);
    showConnections(update.connections, update.total);
    showChart();
    document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
  });
  events.addEventListener("error", () => {
    $("state").className = "offline";
    text("state", "reconnecting…");
  });
}

showHeads();
follow();
