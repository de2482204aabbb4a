/**
 * The one rule for what the other end sent before a person sees it (a log
 * line, `serve --trace`, `name-echo connect`'s terminal, /connections and the
 * status page): nothing that came over the wire may drive a terminal, fake a
 * log line, or reorder or hide the text around it.
 *
 * Dangerous are the C0 controls (ESC among them), DEL, the C1 controls (0x9B
 * is CSI to a terminal that takes 8-bit controls), and the Unicode format
 * characters that reorder or hide text: embeddings and overrides
 * (U+202A-U+202E; U+202E reverses the rest of the line), isolates
 * (U+2066-U+2069), zero-width characters and direction marks (U+200B-U+200F).
 *
 * Two levels, one rule:
 * - bytes (escapeClientBytes, escapeTraceBytes) keep printable ASCII only:
 *   every control byte and every byte of a multi-byte UTF-8 character
 *   (so each format character above) becomes \xHH; backslash and double
 *   quote are escaped too, so the result can sit inside quotes unambiguously;
 * - text already decoded (escapeClientText) keeps printable Unicode (a name
 *   such as "Zoë 李" stays readable) and escapes the characters above:
 *   controls as \xHH, format characters as \uHHHH.
 *
 * "Client" is whoever is on the other end: for `name-echo connect`, the server.
 * Pure: no I/O, so the protocol's wire trace uses it too.
 */

/** The characters text must not carry raw, as [first, last] code points. */
export const UNSAFE_CHARACTER_RANGES: ReadonlyArray<readonly [first: number, last: number]> = [
  [0x00, 0x1f], // C0 controls, ESC (0x1B) among them
  [0x7f, 0x9f], // DEL and the C1 controls
  [0x200b, 0x200f], // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
  [0x202a, 0x202e], // embeddings, pop, overrides
  [0x2066, 0x2069], // isolates and their pop
];

const UNSAFE_CHARACTER = new RegExp(
  `[${UNSAFE_CHARACTER_RANGES.map(([first, last]) => `\\u{${first.toString(16)}}-\\u{${last.toString(16)}}`).join("")}]`,
  "gu",
);

const hex = (value: number, digits: number): string => value.toString(16).padStart(digits, "0");

/** A control as \xHH, a format character as \uHHHH. */
function escapeCharacter(char: string): string {
  const code = char.codePointAt(0)!;
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
}

/** Decoded text with every unsafe character escaped; printable Unicode, backslashes and quotes as they are. */
export function escapeClientText(text: string): string {
  return text.replace(UNSAFE_CHARACTER, escapeCharacter);
}

/** Each byte's spelling: printable ASCII as itself (backslash and quote escaped), the rest \xHH. */
const BYTE_AS_HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  if (byte === 0x5c) return "\\\\";
  if (byte === 0x22) return '\\"';
  return byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${hex(byte, 2)}`;
});

/** The same, with the bytes a telnet trace is full of named: \r \n \t \0. */
const TRACE_NAMES: Readonly<Record<number, string>> = { 0x00: "\\0", 0x09: "\\t", 0x0a: "\\n", 0x0d: "\\r" };
const BYTE_AS_TRACE: readonly string[] = BYTE_AS_HEX.map((text, byte) => TRACE_NAMES[byte] ?? text);

function spell(table: readonly string[], bytes: Uint8Array, from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) out += table[bytes[i]!]!;
  return out;
}

/**
 * Client bytes as printable ASCII, for logs and messages, truncated to `max`
 * bytes (the rest counted). Lives outside cli/ because the server builds
 * messages from client bytes too (a bad PROXY header).
 */
export function escapeClientBytes(bytes: Uint8Array, max = 80): string {
  const out = spell(BYTE_AS_HEX, bytes, 0, Math.min(bytes.length, max));
  return bytes.length > max ? `${out}…(${bytes.length} bytes)` : out;
}

/** Bytes from..to as the inside of a quoted trace string: as escapeClientBytes, with \r \n \t \0 named. */
export function escapeTraceBytes(bytes: Uint8Array, from = 0, to = bytes.length): string {
  return spell(BYTE_AS_TRACE, bytes, from, to);
}
