/** Driving the inetutils `telnet` (Debian's `telnet`) in a ClientPane: its telnet> prompt and its modes. */
import type { ClientPane } from "./client-pane.js";
import type { RealClientProgram } from "./real-client.js";
import { hasOption, telnet, type WireTap } from "./wire-tap.js";

/** Whether telnet has connected (it says so, with its escape character). */
export const telnetConnected = (rows: string[]): boolean => rows.some((row) => row.startsWith("Escape character is"));

/** inetutils telnet as a real client of the tap (realClientSuite().open()); `width` for a narrow pane. */
export function inetutilsTelnet(width?: number): RealClientProgram {
  return { needs: ["telnet", "tmux"], command: (port) => `telnet 127.0.0.1 ${port}`, ready: telnetConnected, what: "telnet to connect", width };
}

/** Ctrl-], then `command` at the telnet> prompt. */
export async function telnetCommand(pane: ClientPane, command: string): Promise<void> {
  await pane.keys("C-]");
  // A fresh, empty prompt: an earlier "telnet> mode character" row must not count.
  await pane.waitFor((rows) => rows.at(-1) === "telnet>", "the telnet> prompt");
  await pane.type(command);
  await pane.keys("Enter");
}

/** `mode character`, and wait until the server echoes and telnet's terminal is raw. */
export async function characterMode(pane: ClientPane, tap: WireTap): Promise<void> {
  await telnetCommand(pane, "mode character");
  await tap.untilServer((bytes) => hasOption(bytes, telnet.WILL, telnet.ECHO), "the server's WILL ECHO");
  await pane.waitForTerminalMode("raw");
}

/** `unset escape`: from here every byte is data (and telnet has no escape key left). */
export async function unsetEscape(pane: ClientPane): Promise<void> {
  await telnetCommand(pane, "unset escape");
  await pane.waitFor((rows) => rows.at(-1) === "escape character is 'off'.", "the escape character off");
}
