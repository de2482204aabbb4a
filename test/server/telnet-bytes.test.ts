/**
 * Telnet byte-exactness on a real server (127.0.0.1, port 0): a 0xFF data
 * byte comes back as IAC IAC, the way a telnet decoder such as Python's
 * telnetlib needs it, and a notice never sticks to a half-typed line.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DO, IAC, OPT_ECHO, OPT_SGA, WILL } from "../../src/protocol/telnet-parser.js";
import { cleanupsAfterEach } from "../helpers/cleanup.js";
import { RawClient } from "../helpers/net.js";
import { startInProcessServer } from "../helpers/server.js";
import { TRANSPORTS } from "../helpers/transports.js";

const cleanups = cleanupsAfterEach();

async function client(port: number): Promise<RawClient> {
  const raw = await RawClient.connect(port);
  cleanups.push(() => raw.destroy());
  return raw;
}

for (const transport of TRANSPORTS)
  describe(`telnet bytes on the wire (${transport} transport)`, { timeout: 20_000 }, () => {
    test("a 0xFF round trip: `a IAC IAC b` CR LF comes back as `a IAC IAC b Ali` CR LF", async () => {
      const server = await startInProcessServer(cleanups, { transport });
      const raw = await client(server.address!.port);
      // What telnetlib.write(b"a\xffb\r\n") sends: it doubles the 0xFF.
      raw.send(Buffer.from([0x61, IAC, IAC, 0x62, 0x0d, 0x0a]));
      await raw.waitForText(" Ali\r\n");
      assert.deepEqual([...raw.received], [0x61, IAC, IAC, 0x62, ...Buffer.from(" Ali\r\n")]);
    });

    test("with the server echoing, the closing notice starts on a fresh line after a half-typed line", async () => {
      const server = await startInProcessServer(cleanups, { transport });
      const raw = await client(server.address!.port);
      // Linux telnet after `mode character`.
      raw.send(Buffer.from([IAC, DO, OPT_SGA, IAC, DO, OPT_ECHO]));
      await raw.waitForBytes(6);
      assert.deepEqual([...raw.received], [IAC, WILL, OPT_SGA, IAC, WILL, OPT_ECHO]);
      raw.send("partial");
      await raw.waitForText("partial");
      await server.close();
      await raw.waitForEnd();
      assert.equal(raw.text.slice(6), "partial\r\nclosing: the server is shutting down\r\n");
    });
  });
