/**
 * The public surface, as a user of the built package gets it: `import
 * "name-echo"` gives exactly what the README's library section documents,
 * without loading prom-client; metrics are `name-echo/metrics`; and a
 * TcpConnection shows its documented members, not the methods its transport,
 * telnet session, memory budget and server call (those are symbol-keyed).
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { REPO } from "../helpers/cli.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { RawClient } from "../helpers/net.js";
import { startInProcessServer } from "../helpers/server.js";
import type { TcpConnection } from "../../src/server/connection.js";

// Imported by name, as a user would: the package's own `exports` resolve it to dist/src.
const PACKAGE = "name-echo";
const METRICS = "name-echo/metrics";

const cleanups = cleanupsAfterEach();

test('import "name-echo" exports exactly the documented classes and DEFAULTS', async () => {
  const surface = (await import(PACKAGE)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(surface).sort(), ["DEFAULTS", "Endpoint", "NameEchoClient", "NameEchoError", "NameEchoServer", "TcpConnection"]);
});

test('import "name-echo/metrics" exports instrumentServer and StatusServer (MetricsServer, its old name, too)', async () => {
  const metrics = (await import(METRICS)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(metrics).sort(), ["MetricsServer", "StatusServer", "instrumentServer"]);
  assert.equal(metrics.MetricsServer, metrics.StatusServer);
});

test('import "name-echo" does not load prom-client; "name-echo/metrics" does', { timeout: 30_000 }, async () => {
  // A fresh process: this one may have loaded prom-client for another test.
  const script = `
    import { createRequire } from "node:module";
    const cache = createRequire(process.cwd() + "/").cache;
    const promClientLoaded = () => Object.keys(cache).some((file) => /[\\\\/]node_modules[\\\\/]prom-client[\\\\/]/.test(file));
    await import(${JSON.stringify(PACKAGE)});
    const withServer = promClientLoaded();
    await import(${JSON.stringify(METRICS)});
    console.log(JSON.stringify({ withServer, withMetrics: promClientLoaded() }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: REPO, timeout: 20_000 });
  assert.deepEqual(JSON.parse(stdout), { withServer: false, withMetrics: true });
});

/** What the README documents of a TcpConnection (its events come from EventEmitter), and the views the HTTP port reads. */
const DOCUMENTED_MEMBERS = [
  "connectedAt",
  "destroy",
  "echoing",
  "idleForMs",
  "isPausedForBackpressure",
  "local",
  "pendingInput",
  "remote",
  "shutdown",
  "state",
  "stats",
  "toString",
  "transportName",
  "unsentBytes",
];

/**
 * The names its internal methods had when they were public (idle() is a
 * private method now, and the tracer a private field: the declaration test
 * below sees those).
 */
const INTERNAL_NAMES = [
  "receive",
  "receiveEnd",
  "drained",
  "failed",
  "closed",
  "line",
  "lineTooLong",
  "sweepIdle",
  "evict",
  "heldBytes",
  "chargedBytes",
  "isLeaving",
  "recharge",
];

test("a TcpConnection has its documented members and none of its internals by name", async () => {
  const server = await startInProcessServer(cleanups, { trace: { received() {}, sent() {} } });
  const accepted = once(server, "connection");
  const client = await RawClient.connect(server.address!.port);
  cleanups.push(() => client.destroy());
  const [connection] = (await accepted) as [TcpConnection];
  for (const name of DOCUMENTED_MEMBERS) assert.ok(name in connection, `${name} is there`);
  for (const name of INTERNAL_NAMES) assert.equal(name in connection, false, `${name} is not`);
  // Still a working connection: the symbol-keyed internals carry it.
  client.send("Hello\n");
  await client.waitForText("\r\n");
  assert.equal(client.text, "Hello Ali\r\n");
  assert.equal(connection.stats.lines, 1);
});

test("TcpConnection's declaration, as a user's editor shows it, has exactly the documented public members", () => {
  const declaration = readFileSync(join(REPO, "dist/src/server/connection.d.ts"), "utf8");
  const body = /^export declare class TcpConnection\b[^\n]*\n([\s\S]*?)^\}/m.exec(declaration)?.[1];
  assert.ok(body, "connection.d.ts declares TcpConnection");
  // Members are indented four spaces; private ones say so, symbol-keyed ones start with "[".
  const members = [...body.matchAll(/^ {4}(?:readonly |static )*(?:get |set )?([A-Za-z_$][\w$]*)\??[(:<;]/gm)].map((match) => match[1]!);
  const publicMembers = new Set(members.filter((name) => name !== "constructor" && name !== "private" && name !== "protected"));
  assert.deepEqual([...publicMembers].sort(), [...DOCUMENTED_MEMBERS].sort());
  assert.match(body, /^ {4}\[kReceive\]\(chunk: Buffer\): void;$/m, "the transport's way in is symbol-keyed");
});
