/**
 * The layers hold: the library (everything in src/ but src/cli/) never
 * imports the command line, and never names one of its flags to a user.
 * The command puts its flags in place of the library's option names
 * (inCommandLineTerms); options.ts's table is where the two meet.
 */
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { SERVE_FLAG_ROWS } from "../../src/options.js";
import { REPO } from "../helpers/cli.js";

const SRC = join(REPO, "src");
/** `name-echo bench`'s and `connect`'s flags, beside serve's. */
const OTHER_FLAGS = ["connect", "clients", "duration", "pipeline", "size", "processes", "json", "report", "raw", "tls", "tls-ca"];
const FLAGS = [...SERVE_FLAG_ROWS.map((row) => row.flag), ...OTHER_FLAGS];

function librarySources(): string[] {
  return readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.startsWith("cli/") && file !== "options.ts")
    .map((file) => join(SRC, file));
}

/** The file without its comments (JSDoc lines, // comments), which may well say which flag sets what. */
function code(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .map((line) => line.replace(/\s\/\/ .*$/, ""))
    .join("\n");
}

test("library code never imports from src/cli/", () => {
  const files = librarySources();
  assert.ok(files.length > 40, `found ${files.length} library files`);
  const importing = files.filter((file) => /from "(\.\.\/)+cli\//.test(readFileSync(file, "utf8")));
  assert.deepEqual(
    importing.map((file) => relative(SRC, file)),
    [],
  );
});

test("library code names no command-line flag in what it says", () => {
  const flag = new RegExp(`(["'\`])[^"'\`\\n]*--(${FLAGS.join("|")})\\b`);
  const naming = librarySources().flatMap((file) => {
    const match = flag.exec(code(readFileSync(file, "utf8")));
    return match ? [`${relative(SRC, file)}: ${match[0]}`] : [];
  });
  assert.deepEqual(naming, []);
});
