/** `name-echo bench --report FILE.html`: the file a run writes, and --json next to it. */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import hdr from "hdr-histogram-js";
import type { BenchResult } from "../../src/load/load.js";
import { checkReportFile, escapeHtml, machineInfo, percentileCurve, renderBenchReport } from "../../src/load/report.js";
import { NameEchoError } from "../../src/errors.js";
import { NameEchoServer } from "../../src/server/server.js";
import { runCli } from "../helpers/cli.js";

const RESULT: BenchResult = {
  target: "127.0.0.1:8888",
  clients: 2,
  pipeline: 1,
  lineBytes: 24,
  durationSeconds: 3,
  repliesOk: 3000,
  repliesPerSecond: 1000,
  repliesOkTotal: 3000,
  linesSent: 3000,
  errors: 0,
  badReplies: 0,
  lost: 0,
  unexpectedBytes: 0,
  connectionErrors: 0,
  connectErrors: 0,
  firstError: "",
  latencyUs: { p50: 100, p90: 200, p99: 900, p999: 2000, max: 5000, mean: 120 },
};

describe("bench report", () => {
  it("the percentile curve runs from p0 to p99.999 and includes p50 … p99.99 exactly", () => {
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    for (let us = 1; us <= 10_000; us++) histogram.recordValue(us);
    const curve = percentileCurve(histogram);
    assert.equal(curve[0]!.percentile, 0);
    assert.ok(Math.abs(curve.at(-1)!.percentile - 99.999) < 1e-9);
    for (const p of [50, 90, 99, 99.9, 99.99])
      assert.ok(
        curve.some((point) => point.percentile === p),
        `p${p}`,
      );
    const p50 = curve.find((point) => point.percentile === 50)!.us;
    assert.ok(p50 >= 4990 && p50 <= 5010, `p50 of 1..10000 is about 5000, not ${p50}`);
    for (let i = 1; i < curve.length; i++) assert.ok(curve[i]!.us >= curve[i - 1]!.us, "latency never falls as the percentile rises");
  });

  it("a report file that cannot be written is an error in the engine's words, naming no flag", () => {
    const file = join(tmpdir(), "name-echo-no-such-folder", "x.html");
    assert.throws(
      () => checkReportFile(file),
      (error: unknown) =>
        error instanceof NameEchoError && error.message === `cannot write ${file}: its folder does not exist` && !error.message.includes("--"),
    );
  });

  it("escapes every outside string: an error quoting a server's reply cannot add markup", () => {
    const html = renderBenchReport({
      command: "name-echo bench --connect <x>",
      startedAt: new Date(0),
      settings: { host: "127.0.0.1", port: 8888, clients: 2, durationSeconds: 3, pipeline: 1, lineBytes: 24, name: "Ali" },
      result: { ...RESULT, errors: 1, badReplies: 1, firstError: `expected "a", got "<script>alert(1)</script>"` },
      throughput: [
        { t: 1, repliesPerSecond: 900, p50Us: 100, p99Us: 800 },
        { t: 2, repliesPerSecond: 1100, p50Us: 90, p99Us: 700 },
      ],
      percentiles: [
        { percentile: 0, us: 10 },
        { percentile: 50, us: 100 },
        { percentile: 99, us: 900 },
      ],
      machine: machineInfo(),
    });
    assert.ok(!html.includes("<script"), "no script element");
    assert.ok(html.includes("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert.ok(html.includes("--connect &#60;x&#62;"));
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/);
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
  });

  describe("name-echo bench --report", { timeout: 60_000 }, () => {
    let server: NameEchoServer;
    let port: number;
    let folder: string;
    before(async () => {
      server = new NameEchoServer({ port: 0 });
      port = (await server.listen()).port;
      folder = mkdtempSync(join(tmpdir(), "name-echo-bench-report-"));
    });
    after(async () => {
      await server.destroy();
      rmSync(folder, { recursive: true, force: true });
    });

    it("writes the report and still prints --json", async () => {
      const file = join(folder, "run.html");
      const run = runCli(["bench", "--connect", `127.0.0.1:${port}`, "--clients", "3", "--duration", "2.2", "--report", file, "--json"]);
      const finished = await run.finished;
      assert.equal(finished.code, 0, finished.stderr);
      const result = JSON.parse(finished.stdout) as BenchResult;
      assert.equal(result.errors, 0);
      const html = readFileSync(file, "utf8");
      assert.match(html, /^<!doctype html>/);
      assert.ok(html.includes(`name-echo bench: 127.0.0.1:${port}`));
      // Two one-second samples in a 2.2 s run: a throughput line with two points.
      const throughput = /<polyline class="series" points="([^"]*)"/.exec(html)!;
      assert.equal(throughput[1]!.split(" ").length, 2);
      assert.ok(html.includes(`${new Intl.NumberFormat("en-US").format(result.repliesPerSecond)}</b>`));
      for (const label of ["p50", "p99", "p99.9", "p99.99"]) assert.ok(html.includes(`<th>${label}</th>`), label);
      assert.ok(html.includes(process.version));
      assert.ok(html.includes("<th>cores</th>"));
    });

    it("says on stderr where it wrote the report, and the chart has a point for the run's last second", async () => {
      const file = join(folder, "three-seconds.html");
      const finished = await runCli(["bench", "--connect", `127.0.0.1:${port}`, "--clients", "1", "--duration", "3", "--report", file]).finished;
      assert.equal(finished.code, 0, finished.stderr);
      assert.equal(finished.stderr, `report written to ${file}; open it in a browser\n`);
      const html = readFileSync(file, "utf8");
      const marks = [...html.matchAll(/<circle class="mark"[^>]*><title>([\d.]+) s: /g)].map((match) => Number(match[1]));
      assert.equal(marks.length, 3, `one point a second of a 3 s run, at ${marks.join(", ")} s`);
      assert.ok(marks[2]! >= 2.9, `the last point is at the run's end, not ${marks[2]} s`);
    });

    it("a report that cannot be written is refused before the run, exit 2", async () => {
      const run = runCli(["bench", "--connect", `127.0.0.1:${port}`, "--duration", "1", "--report", join(folder, "missing", "x.html")]);
      const finished = await run.finished;
      assert.equal(finished.code, 2);
      assert.match(finished.stderr, /^name-echo: --report: cannot write .*x\.html: its folder does not exist\n$/);
      assert.equal(finished.stdout, "");
    });
  });
});
