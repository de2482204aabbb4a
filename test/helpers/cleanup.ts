/** Things a test started and must stop: push a cleanup; they run after each test, last first. */
import { afterEach } from "node:test";

/** Registers an afterEach (in the calling file or suite) that runs and empties the returned list. */
export function cleanupsAfterEach(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
