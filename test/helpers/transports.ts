/**
 * The transports every server-side test runs on: the same tests, once per
 * transport, so neither can drift from what the other does.
 * NAME_ECHO_TEST_TRANSPORTS=handle (or stream) narrows a local run to one.
 */
import type { TransportName } from "../../src/server/transport/transport.js";

const ALL: readonly TransportName[] = ["handle", "stream"];

export const TRANSPORTS: readonly TransportName[] = (() => {
  const asked = process.env.NAME_ECHO_TEST_TRANSPORTS;
  if (!asked) return ALL;
  const names = asked.split(",").map((name) => name.trim());
  for (const name of names) {
    if (!ALL.includes(name as TransportName)) throw new Error(`NAME_ECHO_TEST_TRANSPORTS: unknown transport "${name}" (${ALL.join(", ")})`);
  }
  return names as TransportName[];
})();
