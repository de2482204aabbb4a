/**
 * The package as `npm pack` makes it, the tarball a user installs: every
 * source map in it points at sources it also ships (a debugger or
 * `node --enable-source-maps` in the user's project then shows the
 * TypeScript, instead of failing to find it), what the README's library
 * section needs (the built code, its types, the CLI) is in it, and, installed
 * in an empty folder the README's way, its example runs and the installed
 * `name-echo serve` answers a line.
 */
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, posix } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { LISTENING, REPO } from "../helpers/cli.js";
import { collect, RawClient } from "../helpers/net.js";

const run = promisify(execFile);

describe("the npm pack tarball", { timeout: 180_000 }, () => {
  let folder: string;
  /** Paths inside the package, as installed: "dist/src/index.js". */
  let shipped: Set<string>;
  let tarball: string;
  const cleanups = cleanupsAfterEach();

  /** The tarball installed in an empty project, as the README says: once, for every test that uses it. */
  let installing: Promise<string> | undefined;
  const installed = (): Promise<string> =>
    (installing ??= (async () => {
      const app = join(folder, "my-app");
      mkdirSync(app);
      writeFileSync(join(app, "package.json"), JSON.stringify({ name: "my-app", private: true, type: "module" }));
      // The dependencies come from npm's cache, filled by this clone's own npm ci.
      await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: app, timeout: 90_000 });
      return app;
    })());

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), "name-echo-pack-"));
    // --ignore-scripts: the tarball of what is built now; `prepare` would rebuild dist under the running suite.
    const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", folder], { cwd: REPO, timeout: 60_000 });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
    tarball = join(folder, packed!.filename);
    await run("tar", ["-xzf", tarball, "-C", folder], { timeout: 30_000 });
    const { stdout: listing } = await run("tar", ["-tzf", tarball], { timeout: 30_000 });
    shipped = new Set(
      listing
        .split("\n")
        .filter((line) => line.startsWith("package/"))
        .map((line) => line.slice("package/".length)),
    );
  });
  after(() => rmSync(folder, { recursive: true, force: true }));

  it("ships the built library, its types and the CLI", () => {
    for (const file of ["package.json", "README.md", "bin/name-echo", "dist/src/index.js", "dist/src/index.d.ts", "dist/src/metrics.js"]) {
      assert.ok(shipped.has(file), `${file} is in the tarball`);
    }
    assert.ok(![...shipped].some((file) => file.startsWith("dist/test/")), "no compiled tests");
  });

  it("every source map points at sources the tarball ships", () => {
    const maps = [...shipped].filter((file) => file.endsWith(".js.map"));
    assert.ok(maps.length > 10, `source maps in the tarball: ${maps.length}`);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot, sourcesContent } = JSON.parse(readFileSync(join(folder, "package", map), "utf8")) as {
        sources: string[];
        sourceRoot?: string;
        sourcesContent?: Array<string | null>;
      };
      sources.forEach((source, index) => {
        if (typeof sourcesContent?.[index] === "string") return;
        const path = posix.normalize(posix.join(posix.dirname(map), sourceRoot ?? "", source));
        if (!shipped.has(path)) missing.push(`${map} -> ${path}`);
      });
    }
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} map sources not in the tarball`);
  });

  it("installed from the tarball in another folder, as the README says, the README's example runs", async () => {
    const readme = readFileSync(join(REPO, "README.md"), "utf8");
    const library = readme.slice(readme.indexOf("## As a library"), readme.indexOf("### Error codes"));
    assert.match(library, /^npm install \.\.\/name-echo\b/m, "the README installs the clone's folder");
    assert.match(library, /\bnpm pack\b/, "the README makes the tarball");
    assert.match(library, /npm install \S+\.tgz/, "the README installs the tarball");
    const example = /```ts\n(import \{ NameEchoServer, NameEchoClient \} from "name-echo";[\s\S]*?)\n```/.exec(library)?.[1];
    assert.ok(example !== undefined, "the README's example");

    const app = await installed();
    writeFileSync(join(app, "example.mjs"), example);
    const { stdout } = await run(process.execPath, ["example.mjs"], { cwd: app, timeout: 20_000 });
    assert.match(stdout, /^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+\nHello Ali\n$/);
  });

  it("installed from the tarball, its `name-echo serve --port 0` listens and answers a line", { timeout: 120_000 }, async () => {
    const app = await installed();
    // npm's link to the package's bin, run as a user's shell runs it: this checks the link, the file's
    // mode and its `#!/usr/bin/env node`, which takes the first node on PATH: this one, so that
    // scripts/test-on-node.sh tests the installed CLI on the Node under test too.
    const server = spawn(join(app, "node_modules", ".bin", "name-echo"), ["serve", "--port", "0"], {
      cwd: app,
      env: { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exit = once(server, "close") as Promise<[number | null, NodeJS.Signals | null]>;
    cleanups.push(async () => {
      if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
      await exit;
    });
    const stdout = collect(server.stdout);
    const stderr = collect(server.stderr);

    // Either it says where it listens, or it exits (a missing file, a bad link): then say what it printed.
    const listening = stdout.until(LISTENING, 10_000).then(
      (text) => LISTENING.exec(text),
      (error: Error) => error,
    );
    const started = await Promise.race([listening, exit.then(() => "exited" as const)]);
    if (started === "exited") assert.fail(`the installed name-echo exited before listening:\n${stdout.text}${stderr.text}`);
    if (started instanceof Error) throw new Error(`${started.message}\nstderr: ${stderr.text}`);

    const client = await RawClient.connect(Number(started?.[1]));
    cleanups.push(() => client.destroy());
    client.send("Hello\r\n");
    await client.waitForText("Hello Ali\r\n");
    assert.equal(client.text, "Hello Ali\r\n");

    // SIGTERM is the graceful stop: the client is told, the server exits 0.
    server.kill("SIGTERM");
    await client.waitForEnd(15_000);
    assert.match(client.text, /closing: the server is shutting down/);
    assert.deepEqual(await exit, [0, null], stderr.text);
  });

  it("every sourceMappingURL of the shipped code names a map the tarball ships", () => {
    const pointers: string[] = [];
    for (const file of [...shipped].filter((name) => name.endsWith(".js"))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(folder, "package", file), "utf8"))?.[1];
      if (url === undefined) continue;
      const map = posix.join(dirname(file), url);
      if (!shipped.has(map)) pointers.push(`${file} -> ${map}`);
    }
    assert.deepEqual(pointers, []);
  });
});
