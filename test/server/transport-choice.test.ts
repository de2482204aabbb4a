/**
 * Which transport serves: "auto" must really pick the handle transport on
 * every Node the suite runs on (CI runs it on each supported line), so a
 * silent fallback to net.Socket cannot pass; and where the handle transport
 * cannot be used (TLS, PROXY protocol, a Node that does not allow the
 * bindings) the server says so.
 */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { NameEchoServer } from "../../src/server/server.js";
import type { TcpConnection } from "../../src/server/connection.js";
import { detectHandleBindings } from "../../src/server/transport/bindings.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { runCli, startServe } from "../helpers/cli.js";
import { RawClient } from "../helpers/net.js";

const cleanups = cleanupsAfterEach();

/** Node flags that turn the permission model on (it denies process.binding), for the Node running the tests. */
function permissionModelFlags(): string[] {
  const flags = process.allowedNodeEnvironmentFlags;
  const on = flags.has("--permission") ? "--permission" : "--experimental-permission";
  // From Node 25 the permission model also guards the network.
  return [on, "--allow-fs-read=*", ...(flags.has("--allow-net") ? ["--allow-net"] : [])];
}

describe("choosing the transport", { timeout: 30_000 }, () => {
  it(`auto picks the handle transport on this Node (${process.version})`, async () => {
    assert.deepEqual(Object.keys(detectHandleBindings()), ["bindings"], JSON.stringify(detectHandleBindings()));
    const server = new NameEchoServer({ port: 0 });
    cleanups.push(() => server.destroy());
    assert.equal(server.options.transport, "auto");
    const { port } = await server.listen();
    // Still the handle after listening: the listening socket's handle was taken over too.
    assert.equal(server.transport, "handle");
    assert.equal(server.transportFallback, null);
    const accepted = once(server, "connection") as Promise<[TcpConnection]>;
    const client = await RawClient.connect(port);
    cleanups.push(() => client.destroy());
    const [connection] = await accepted;
    assert.equal(connection.transportName, "handle");
    client.send("Hello\n");
    await client.waitForText("Hello Ali\r\n");
  });

  it("serve says which transport serves, and NAME_ECHO_TRANSPORT or --transport choose it", async () => {
    const auto = await startServe(["--log-format", "pretty"]);
    cleanups.push(() => auto.kill());
    assert.match(auto.stdout(), /listening on 127\.0\.0\.1:\d+ \(replies add "Ali", handle transport\)/);
    const fromEnvironment = await startServe([], { env: { ...process.env, NAME_ECHO_TRANSPORT: "stream" } });
    cleanups.push(() => fromEnvironment.kill());
    assert.match(fromEnvironment.stdout(), /, stream transport\)/);
    const fromFlag = await startServe(["--transport", "handle"], { env: { ...process.env, NAME_ECHO_TRANSPORT: "stream" } });
    cleanups.push(() => fromFlag.kill());
    assert.match(fromFlag.stdout(), /, handle transport\)/);
    assert.equal(await auto.stop(), 0);
    assert.doesNotMatch(auto.stderr(), /stream transport/, "no fallback line when nothing fell back");
  });

  it("PROXY protocol keeps the handle transport; TLS is the stream transport's, and asking for handle with it is refused", () => {
    assert.equal(new NameEchoServer({ port: 0, proxyProtocol: true }).transport, "handle");
    // The transport is decided before the certificate is looked at.
    assert.throws(() => new NameEchoServer({ port: 0, tls: { cert: "-", key: "-" }, transport: "handle" }), {
      code: "ERR_INVALID_OPTION",
      message: 'transport is "handle", which does not serve TLS; with TLS use "auto" or "stream"',
    });
    assert.throws(() => new NameEchoServer({ transport: "socket" as "stream" }), {
      code: "ERR_INVALID_OPTION",
      message: 'transport must be one of auto, handle, stream, not "socket"',
    });
  });

  it("where the bindings are not allowed (the permission model), auto falls back to stream with one line saying why", async () => {
    const server = await startServe(["--log-format", "pretty"], { nodeFlags: permissionModelFlags() });
    cleanups.push(() => server.kill());
    assert.match(server.stdout(), /, stream transport\)/);
    const client = await RawClient.connect(server.port);
    cleanups.push(() => client.destroy());
    client.send("still served\n");
    await client.waitForText("still served Ali\r\n");
    assert.equal(await server.stop(), 0);
    const fallback = server
      .stderr()
      .split("\n")
      .filter((line) => /stream transport/.test(line));
    assert.equal(fallback.length, 1, server.stderr());
    assert.match(fallback[0]!, /warn  serving with the stream transport: the permission model \(--permission\) does not allow process\.binding\(\)/);
  });

  it("--transport handle where the bindings are not allowed is a usage error, in one line", async () => {
    const { code, stderr } = await runCli(["serve", "--port", "0", "--transport", "handle"], { nodeFlags: permissionModelFlags() }).finished;
    assert.equal(code, 2);
    const lines = stderr.split("\n").filter((line) => line !== "" && !/ExperimentalWarning|--trace-warnings/.test(line));
    assert.deepEqual(lines, [
      `name-echo: --transport is "handle", which is not available on Node ${process.version}: the permission model (--permission) does not allow process.binding(); use "auto" or "stream"`,
    ]);
  });
});
