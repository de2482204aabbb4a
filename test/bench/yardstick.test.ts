/**
 * The yardstick in bench/ works from this repository alone: `make` builds the
 * C load generator and the C epoll peer (into a temporary folder), and the
 * load generator, run for a second against `name-echo serve` and against the
 * peer, sees every reply right. Run with a name the server does not use, it
 * reports errors, so "zero errors" means something. No speed is asserted:
 * `npm run bench:compare` measures it.
 */
import { strict as assert } from "node:assert";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { startServe } from "../helpers/cli.js";
import { freePort } from "../helpers/net.js";
import { skipUnless } from "../helpers/tools.js";
import { Changes, waitFor } from "../helpers/wait.js";

const BENCH = fileURLToPath(new URL("../../../bench/", import.meta.url));

/** The fields of loadgen's JSON line that these tests read. */
interface LoadgenResult {
  mode: string;
  msgs: number;
  errors: number;
  bad_replies: number;
  lost: number;
  sent_total: number;
  replies_ok_total: number;
  first_error: string;
}

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: timeoutMs }, (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describe("the yardstick in bench/", { skip: skipUnless("gcc", "make"), timeout: 120_000 }, () => {
  const cleanups = cleanupsAfterEach();
  let build = "";

  before(async () => {
    build = mkdtempSync(join(tmpdir(), "name-echo-yardstick-"));
    const made = await run("make", ["-C", BENCH, "c", `BUILD=${build}`], 90_000);
    assert.equal(made.code, 0, `make -C bench c failed:\n${made.stdout}${made.stderr}`);
  });
  after(() => {
    if (build !== "") rmSync(build, { recursive: true, force: true });
  });

  /** Runs build/loadgen for about a second (warm-up off) and returns its exit status and JSON result. */
  async function loadgen(args: string[]): Promise<{ code: number | null; result: LoadgenResult }> {
    const { code, stdout, stderr } = await run(join(build, "loadgen"), [...args, "--warmup", "0", "--quiet"], 30_000);
    const last = stdout.trim().split("\n").at(-1) ?? "";
    assert.ok(last.startsWith("{"), `loadgen printed no JSON (exit ${code}):\n${stdout}${stderr}`);
    return { code, result: JSON.parse(last) as LoadgenResult };
  }

  function assertAllRight(outcome: { code: number | null; result: LoadgenResult }): void {
    const { code, result } = outcome;
    assert.equal(result.errors, 0, result.first_error);
    assert.equal(code, 0);
    assert.ok(result.msgs > 0, "replies were counted");
    assert.equal(result.replies_ok_total, result.sent_total, "every line sent was answered right");
  }

  it("loadgen sees every reply of name-echo serve right, one line in flight and 16", async () => {
    const server = await startServe(["--max-connections", "20000"]);
    cleanups.push(() => server.stop());
    const port = String(server.port);
    assertAllRight(await loadgen(["pingpong", "--port", port, "--conns", "4", "--duration", "1"]));
    assertAllRight(await loadgen(["pipeline", "--port", port, "--conns", "2", "--window", "16", "--duration", "1"]));
  });

  it("loadgen reports every reply as wrong when the server adds another name", async () => {
    const server = await startServe(["--name", "Ali"]);
    cleanups.push(() => server.stop());
    const { code, result } = await loadgen(["pingpong", "--port", String(server.port), "--conns", "2", "--duration", "1", "--name", "Bob"]);
    assert.equal(code, 1);
    assert.ok(result.bad_replies > 0);
    assert.equal(result.msgs, 0);
    assert.match(result.first_error, /expected "[^"]* Bob\\r\\n", got from there "Ali\\r\\n/);
  });

  it("the C epoll peer answers every line loadgen sends", async () => {
    const port = await freePort();
    const peer = spawn(join(build, "c-epoll-server"), ["--port", String(port), "--name", "Ali"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    const changes = new Changes();
    peer.stderr!.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
      changes.changed();
    });
    cleanups.push(() => {
      if (peer.exitCode === null && peer.signalCode === null) peer.kill("SIGKILL");
    });
    const listening = /c-epoll: listening on 127\.0\.0\.1:\d+/;
    await waitFor(() => listening.exec(stderr), String(listening), {
      timeoutMs: 10_000,
      changes,
      seen: () => stderr,
      failIf: () => (peer.exitCode !== null || peer.signalCode !== null ? new Error(`the c-epoll peer exited: ${stderr}`) : undefined),
    });
    assertAllRight(await loadgen(["pipeline", "--port", String(port), "--conns", "2", "--window", "16", "--duration", "1"]));
  });
});
