/**
 * Tests that need an outside program (openssl, haproxy, telnet, tmux): skip
 * with the reason on a developer's machine, fail under CI=true, where
 * .ci/run installs them. The one place that decides this.
 */
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

/** The Debian package of each command whose package is named otherwise. */
const debianPackages: Record<string, string> = { plink: "putty-tools", "telnet-client": "libtelnet-utils", nc: "netcat-openbsd" };

/** Whether `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/**
 * The `skip` option for a test or suite that needs `commands`: false when
 * all are there, otherwise the reason; under CI=true a missing command
 * throws instead, since CI must never pass by skipping.
 */
export function skipUnless(...commands: string[]): string | false {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length === 0) return false;
  const packages = missing.map((command) => debianPackages[command] ?? command);
  const reason = `needs ${missing.join(", ")} (on Debian: apt-get install ${packages.join(" ")})`;
  if (process.env.CI === "true") throw new Error(`${reason}: missing under CI=true`);
  return reason;
}

/** Inside a running test: true when every command is there; otherwise skips the test (or fails it under CI=true). */
export function requireCommands(t: TestContext, ...commands: string[]): boolean {
  const skip = skipUnless(...commands);
  if (skip === false) return true;
  t.skip(skip);
  return false;
}
