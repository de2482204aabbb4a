/** Tests that need an outside program: skip with the reason on a developer's machine, fail under CI=true. */
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

export function hasCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/**
 * Returns true when every command is available. Otherwise skips the test with
 * the reason, or, when CI=true, fails it: CI must never pass by skipping.
 */
export function requireCommands(t: TestContext, ...commands: string[]): boolean {
  const missing = commands.filter((command) => !hasCommand(command));
  if (missing.length === 0) return true;
  const reason = `needs ${missing.join(", ")} (on Debian: apt-get install ${missing.join(" ")})`;
  if (process.env.CI === "true") throw new Error(`${reason}: missing under CI=true`);
  t.skip(reason);
  return false;
}
