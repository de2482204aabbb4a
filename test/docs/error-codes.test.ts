/** The README's "Error codes" table lists every code a NameEchoError can carry, and nothing else. */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ERROR_CODES } from "../../src/errors.js";
import { REPO } from "../helpers/cli.js";

test("every error code has a row in the README's Error codes table", () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = /^### Error codes\n([\s\S]*?)\n#{2,3} /m.exec(readme)?.[1];
  assert.ok(section, "README has an 'Error codes' section");
  const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((match) => match[1]);
  assert.deepEqual([...documented].sort(), [...ERROR_CODES].sort());
});
