/**
 * The one escaper for what the other end sent: every dangerous class, at
 * each end of its range, in text and as bytes; printable text kept.
 */
import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { escapeClientBytes, escapeClientText, escapeTraceBytes, UNSAFE_CHARACTER_RANGES } from "../src/escape.js";

/** Each dangerous class, by the characters at the ends of its range and one a terminal or a reader would act on. */
const DANGEROUS: Array<[what: string, characters: string[]]> = [
  ["C0 controls (NUL, BEL, BS, CR, LF, ESC, US)", ["\u0000", "\u0007", "\u0008", "\r", "\n", "\u001b", "\u001f"]],
  ["DEL", ["\u007f"]],
  ["C1 controls (0x80, CSI 0x9B, APC 0x9F)", ["\u0080", "\u009b", "\u009f"]],
  ["zero-width characters and direction marks (U+200B-U+200F)", ["\u200b", "\u200d", "\u200e", "\u200f"]],
  ["embeddings and overrides (U+202A-U+202E)", ["\u202a", "\u202c", "\u202e"]],
  ["isolates (U+2066-U+2069)", ["\u2066", "\u2069"]],
];

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u;

describe("escapeClientText", () => {
  for (const [what, characters] of DANGEROUS) {
    test(`${what}: escaped, never passed through`, () => {
      for (const char of characters) {
        const escaped = escapeClientText(`a${char}b`);
        assert.doesNotMatch(escaped, UNSAFE, JSON.stringify(char));
        const code = char.codePointAt(0)!;
        const spelled = code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
        assert.equal(escaped, `a${spelled}b`);
      }
    });
  }

  test("the characters just outside each range are text, and stay", () => {
    for (const text of ["\u0020", "\u00a0", "\u200a", "\u2010", "\u2029", "\u202f", "\u2065", "\u206a"]) {
      assert.equal(escapeClientText(text), text, `U+${text.codePointAt(0)!.toString(16)}`);
    }
  });

  test("printable Unicode stays: a name, right-to-left letters, an emoji, quotes and backslashes", () => {
    for (const text of ['replies add "Zoë 李"', "علي", "שלום", "👋 \\x1b is only text"]) {
      assert.equal(escapeClientText(text), text);
    }
  });

  test("a terminal attack becomes one inert line", () => {
    const attack = "\u001b]0;pwned\u0007\u001b[2J\r\n2026-01-01 info  fake line\u202egnp.exe";
    assert.equal(escapeClientText(attack), "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a2026-01-01 info  fake line\\u202egnp.exe");
  });

  test("the rule's ranges are the ones this test names", () => {
    assert.deepEqual(UNSAFE_CHARACTER_RANGES, [
      [0x00, 0x1f],
      [0x7f, 0x9f],
      [0x200b, 0x200f],
      [0x202a, 0x202e],
      [0x2066, 0x2069],
    ]);
  });

  test("property: no output holds an unsafe character, and escaping is the only change", () => {
    const anyCharacter = fc.oneof(
      fc.string({ unit: "binary" }),
      fc.array(fc.constantFrom(...DANGEROUS.flatMap(([, chars]) => chars), "a", "é", "\\")).map((chars) => chars.join("")),
    );
    fc.assert(
      fc.property(anyCharacter, (text) => {
        const escaped = escapeClientText(text);
        assert.doesNotMatch(escaped, UNSAFE);
        // Undo the escapes (the input's own backslashes are left alone, so only safe text is compared).
        if (!text.includes("\\")) {
          const undone = escaped.replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (_, x: string | undefined, u: string | undefined) =>
            String.fromCodePoint(parseInt(x ?? u!, 16)),
          );
          assert.equal(undone, text);
        }
      }),
    );
  });
});

describe("escapeClientBytes and escapeTraceBytes", () => {
  for (const [what, characters] of DANGEROUS) {
    test(`${what}, as UTF-8 bytes: printable ASCII only`, () => {
      for (const char of characters) {
        const bytes = Buffer.from(`a${char}b`);
        for (const escaped of [escapeClientBytes(bytes), escapeTraceBytes(bytes)]) {
          assert.match(escaped, /^[\x20-\x7e]*$/, JSON.stringify(char));
          assert.ok(escaped.startsWith("a") && escaped.endsWith("b"));
        }
      }
    });
  }

  test("every other byte: printable ASCII as itself, backslash and quote escaped, the rest \\xHH", () => {
    for (let byte = 0; byte < 256; byte++) {
      const expected =
        byte === 0x5c
          ? "\\\\"
          : byte === 0x22
            ? '\\"'
            : byte >= 0x20 && byte < 0x7f
              ? String.fromCharCode(byte)
              : `\\x${byte.toString(16).padStart(2, "0")}`;
      assert.equal(escapeClientBytes(Buffer.from([byte])), expected, `byte ${byte}`);
    }
  });

  test("the trace names \\r \\n \\t \\0 and spells the rest as escapeClientBytes does", () => {
    assert.equal(escapeTraceBytes(Buffer.from("a\r\nb")), "a\\r\\nb");
    assert.equal(escapeTraceBytes(Buffer.from('\t\0\x1b"\\')), '\\t\\0\\x1b\\"\\\\');
    assert.equal(escapeClientBytes(Buffer.from("\t\0\r\n")), "\\x09\\x00\\x0d\\x0a");
  });

  test("escapeTraceBytes shows bytes from..to only", () => {
    assert.equal(escapeTraceBytes(Buffer.from("abcdef"), 1, 3), "bc");
  });

  test("property: any bytes come out as printable ASCII (before the length note)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.match(escapeClientBytes(bytes, 1000), /^[\x20-\x7e]*$/);
        assert.match(escapeTraceBytes(bytes), /^[\x20-\x7e]*$/);
      }),
    );
  });
});
