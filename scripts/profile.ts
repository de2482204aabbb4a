/**
 * Where the server's CPU time goes under one of the comparison's workloads,
 * split by module: `npm run profile -- WORKLOAD [SERVER ...]`.
 *
 *   npm run profile -- pipeline                    # name-echo (this checkout)
 *   npm run profile -- pingpong name-echo node-raw # one after the other, side by side
 *
 * Each server runs alone under V8's CPU profiler (`node --cpu-prof`), pinned
 * to CPU 0 as in `npm run bench:compare`, while bench/'s load generator runs
 * the workload from CPU 1 with the comparison's settings (1 s of warm-up, 5 s
 * measured). Then the profile's samples are added up per module (a file of
 * src/, a Node module, or a native function such as the write call) and
 * divided by the replies the load generator counted, warm-up included: time
 * per message (pingpong), per line (pipeline) or per connection (churn).
 * Idle time, and the start-up before the port is open, are left out. Needs `make -C bench` first (the load generator).
 *
 * A module is listed when it takes at least 0.5 % of some server's busy
 * time (PROFILE_MIN_SHARE=0.002 lists smaller ones); the rest is summed.
 *
 * SERVER is `name-echo` (bin/name-echo serve, default logging as `npm start`
 * runs it), `node-raw` (the ceiling of the technique, bench/peers/node-raw),
 * or `LABEL=PATH` for another name-echo checkout's bin/name-echo (to profile
 * before and after a change).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
const loadgen = join(repo, "bench/build/loadgen");

const WORKLOADS: Record<string, { args: string[]; unit: string }> = {
  pingpong: { args: ["--conns", "50"], unit: "message" },
  pipeline: { args: ["--conns", "10", "--window", "64"], unit: "line" },
  churn: { args: ["--workers", "4"], unit: "connection" },
};

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The module a sample's function belongs to: a src/ file, a Node module, or the native function itself. */
function moduleOf(frame: ProfileNode["callFrame"]): string | null {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName === "(idle)") return null;
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "V8 and libuv (program)";
    return `native ${functionName}`;
  }
  if (url.startsWith("node:")) return url;
  const path = url.startsWith("file:") ? fileURLToPath(url) : url;
  const src = path.indexOf("/dist/src/");
  if (src !== -1) return path.slice(src + "/dist/".length).replace(/\.js$/, ".ts");
  if (path.includes("/node_modules/")) return `npm ${path.slice(path.lastIndexOf("/node_modules/") + 14).split("/")[0]}`;
  return relative(repo, path) || path;
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ok = await new Promise<boolean>((done) => {
      const socket = connect(port, "127.0.0.1", () => (socket.destroy(), done(true)));
      socket.on("error", () => done(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 5 s`);
}

function pinned(cpu: number, command: string[]): string[] {
  const taskset = spawnSync("taskset", ["--version"]).status === 0;
  return taskset ? ["taskset", "-c", String(cpu), ...command] : command;
}

async function profile(server: string, workload: string, port: number): Promise<{ rows: Map<string, number>; units: number }> {
  const dir = mkdtempSync(join(tmpdir(), "name-echo-profile-"));
  try {
    const prof = ["--cpu-prof", `--cpu-prof-dir=${dir}`];
    let command: string[];
    if (server === "node-raw") {
      // The peer has no SIGINT handler of its own: exit() so that the profile is written.
      const exitOnInt = "data:text/javascript,process.on('SIGINT',()=>process.exit(0))";
      command = [process.execPath, "--import", exitOnInt, ...prof, join(repo, "bench/peers/node-raw/server.mjs"), String(port)];
    } else {
      const bin = server.includes("=") ? server.slice(server.indexOf("=") + 1) : join(repo, "bin/name-echo");
      command = [process.execPath, ...prof, bin, "serve", "--port", String(port), "--max-connections", "20000"];
    }
    // taskset execs the command: the child's pid is the server's.
    const [serverFile, ...serverArgs] = pinned(0, command);
    const child = spawn(serverFile!, serverArgs, { stdio: "ignore" });
    const exited = new Promise<void>((done) => child.on("exit", () => done()));
    const spawnedAt = performance.now();
    await waitForPort(port);
    // The profile starts with the process: what comes before the port opens (loading modules) is left out.
    const startupUs = (performance.now() - spawnedAt) * 1000;
    const { args } = WORKLOADS[workload]!;
    const [loadFile, ...loadArgs] = pinned(1, [loadgen, workload, "--port", String(port), ...args, "--duration", "5", "--warmup", "1", "--quiet"]);
    const run = spawnSync(loadFile!, loadArgs, { encoding: "utf8", timeout: 60_000 });
    child.kill("SIGINT");
    await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
    const result = JSON.parse(run.stdout) as { replies_total: number; errors: number };
    if (result.errors !== 0) throw new Error(`${server}: the load generator saw ${result.errors} errors`);
    const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
    if (file === undefined) throw new Error(`${server}: no profile written`);
    const data = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byId = new Map(data.nodes.map((node) => [node.id, node]));
    const rows = new Map<string, number>();
    let at = 0;
    for (let i = 0; i < data.samples.length; i++) {
      at += data.timeDeltas[i]!;
      if (at < startupUs) continue;
      const module = moduleOf(byId.get(data.samples[i]!)!.callFrame);
      if (module !== null) rows.set(module, (rows.get(module) ?? 0) + data.timeDeltas[i]!);
    }
    return { rows, units: result.replies_total };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const [workload, ...servers] = process.argv.slice(2);
  if (workload === undefined || !(workload in WORKLOADS)) {
    console.error(`usage: npm run profile -- ${Object.keys(WORKLOADS).join("|")} [name-echo|node-raw|LABEL=PATH/bin/name-echo ...]`);
    process.exit(2);
  }
  if (servers.length === 0) servers.push("name-echo");
  const { unit } = WORKLOADS[workload]!;
  const results = [];
  let port = 19300;
  for (const server of servers) results.push({ server, ...(await profile(server, workload, port++)) });
  // Every module that takes at least 0.5 % of some server's busy time, biggest first.
  const totals = results.map(({ rows }) => [...rows.values()].reduce((sum, us) => sum + us, 0));
  const modules = new Map<string, number>();
  results.forEach(({ rows }, k) => {
    for (const [module, us] of rows)
      if (us / totals[k]! >= Number(process.env.PROFILE_MIN_SHARE ?? 0.005)) modules.set(module, Math.max(modules.get(module) ?? 0, us / totals[k]!));
  });
  const ordered = [...modules.keys()].sort((a, b) => modules.get(b)! - modules.get(a)!);
  const ns = (us: number, units: number): string => ((us * 1000) / units).toFixed(0);
  const label = (server: string): string => (server.includes("=") ? server.slice(0, server.indexOf("=")) : server);
  console.log(`${workload}: server CPU in ns per ${unit} (replies counted by the load generator, warm-up included), idle and start-up left out\n`);
  console.log(`| module | ${results.map(({ server }) => label(server)).join(" | ")} |`);
  console.log(`|---|${results.map(() => "---|").join("")}`);
  for (const module of ordered) {
    console.log(`| ${module} | ${results.map(({ rows, units }) => (rows.has(module) ? ns(rows.get(module)!, units) : "")).join(" | ")} |`);
  }
  const rest = results.map(({ rows, units }) =>
    ns(
      [...rows].filter(([m]) => !modules.has(m)).reduce((sum, [, us]) => sum + us, 0),
      units,
    ),
  );
  console.log(`| everything else | ${rest.join(" | ")} |`);
  console.log(`| **busy, all** | ${results.map(({ units }, k) => `**${ns(totals[k]!, units)}**`).join(" | ")} |`);
}

await main();
