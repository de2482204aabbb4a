/**
 * The live status page served at GET /: one self-contained HTML document
 * (inline CSS and script, no CDN, no bundler, no framework) that follows
 * GET /events (Server-Sent Events) and redraws itself: the server, its
 * limits and totals, a chart of lines/s and connections over the last
 * minutes (inline SVG), and a table of the open connections (its columns,
 * head included, are the script's).
 *
 * The script is TypeScript, page/script.ts, built against the JSON's types
 * (status-json.ts) and compiled for the browser by page/tsconfig.json as part
 * of `npm run build`; this module reads the compiled file once and inlines it.
 *
 * Client-supplied text (what a client is typing, addresses a PROXY header
 * named) reaches the page as JSON strings and is only ever put into the DOM
 * with textContent, never parsed as HTML. The Content-Security-Policy allows
 * exactly this page's one script and one style block (by hash), no other
 * script, no inline handlers, no images, and connections to this origin only,
 * so even a mistake in the script could not run a client's markup.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

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
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: .9rem; }
th, td { padding: .35rem .45rem; text-align: right; white-space: nowrap; border-bottom: 1px solid var(--line); }
th { font-size: .8rem; color: var(--muted); font-weight: 600; position: sticky; top: 0; background: var(--card); }
th.l, td.l { text-align: left; }
td.typing { font-family: ui-monospace, Menlo, Consolas, monospace; max-width: 18rem; overflow: hidden; text-overflow: ellipsis; }
td.paused { color: var(--warn); font-weight: 600; } td.closing { color: var(--bad); }
tr:last-child td { border-bottom: 0; }
#empty { padding: .75rem; color: var(--muted); }
#more { font-size: .85rem; margin: .5rem 0 0; }
@media (max-width: 40rem) { .wide { display: none; } body { padding: .5rem; } }
`;

/** The compiled page script as it is inlined: its source map comment dropped (the page serves no map). */
function compiledScript(): string | null {
  let script: string;
  try {
    script = readFileSync(new URL("./page/script.js", import.meta.url), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  // Inlined in a <script> element, the text must not end it early.
  if (/<\/script/i.test(script)) throw new Error("the status page's compiled script holds </script");
  return script.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
}

/**
 * Null when only the main tsconfig was built (the page has its own): the page
 * then says so instead of the server failing to start.
 */
const SCRIPT = compiledScript();
const NOT_BUILT = `<p id="not-built">This page's script was not built: run <code>npm run build</code> (it compiles src/ops/page/ too).</p>`;

const hash = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** Only this page's own script and style; data from this origin only; nothing else at all. */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${SCRIPT === null ? "'none'" : hash(SCRIPT)}`,
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
<thead><tr id="heads"></tr></thead>
<tbody id="rows"></tbody>
</table>
<div id="empty">No clients connected. Try <code>telnet</code> or <code>name-echo connect</code>.</div>
</div>
<p id="more" class="muted" hidden></p>
${SCRIPT === null ? NOT_BUILT : `<script type="module">${SCRIPT}</script>`}
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
