/**
 * The rules every option value is checked by, shared by the library and the
 * CLI, so that `new NameEchoServer({ port: 70000 })` and
 * `name-echo serve --port 70000` are refused in the same words. Which option
 * takes which rule, and its default, is options.ts's table.
 *
 * A rule checks a typed value (what a library caller passes: a number is a
 * number, a boolean a boolean) and parses text (what a command line or an
 * environment variable gives). Its errors are ERR_INVALID_OPTION with the
 * option's name and, separately, what was wrong in words that name no option,
 * so the CLI can put the flag or the variable in the option's place.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { invalidOption } from "./errors.js";

/** The longest name accepted, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;

/** RFC 1123 (and RFC 1035 §2.3.4): a host name is at most 253 characters, each dot-separated label 1 to 63. */
const MAX_HOST_NAME_LENGTH = 253;
const MAX_HOST_LABEL_LENGTH = 63;

export interface OptionRule<T> {
  /**
   * A value as a library caller passes it; throws ERR_INVALID_OPTION naming
   * `option`. Typed loosely on purpose: JavaScript callers can pass anything.
   */
  check(value: unknown, option: string): T;
  /** A value written as text (a flag, an environment variable); throws ERR_INVALID_OPTION naming `what`. */
  fromText(text: string, what: string): T;
}

/** A whole number within [min, max]; `hint` follows the range in the message ("(0 picks a free port)"). */
export function integerRule(min: number, max: number, hint = ""): OptionRule<number> {
  const expected = `a whole number from ${min} to ${max}${hint ? ` ${hint}` : ""}`;
  const check = (value: unknown, option: string): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw invalidOption(option, `must be ${expected}, not ${describe(value)}`);
    }
    return value;
  };
  // Text that is not all digits stays text, and check() refuses it quoting what was written.
  return { check, fromText: (text, what) => check(/^\s*\d+\s*$/.test(text) ? Number(text) : text, what) };
}

/** A number of seconds within [min, max], fractions allowed. */
export function secondsRule(min: number, max: number): OptionRule<number> {
  const check = (value: unknown, option: string): number => {
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      throw invalidOption(option, `must be a number of seconds from ${min} to ${max}, not ${describe(value)}`);
    }
    return value;
  };
  return { check, fromText: (text, what) => check(/^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text, what) };
}

/** One of a few words, exactly as written. */
export function choiceRule<T extends string>(choices: readonly T[]): OptionRule<T> {
  const check = (value: unknown, option: string): T => {
    if (typeof value === "string" && (choices as readonly string[]).includes(value)) return value as T;
    throw invalidOption(option, `must be one of ${choices.join(", ")}, not ${describe(value)}`);
  };
  return { check, fromText: (text, what) => check(text.trim(), what) };
}

export const PORT_RULE: OptionRule<number> = integerRule(0, 65535, "(0 picks a free port)");

/** A port to connect to: the same numbers, without the hint about listening, which means nothing to a client. */
export const TARGET_PORT_RULE: OptionRule<number> = integerRule(0, 65535, "(the port the server listens on)");

/** true or false, and nothing that merely looks like one: `proxyProtocol: "false"` must not turn PROXY mode on. */
export const BOOLEAN_RULE: OptionRule<boolean> = {
  check(value, option) {
    if (typeof value !== "boolean") throw invalidOption(option, `must be true or false, not ${describe(value)}`);
    return value;
  },
  fromText(text, what) {
    const word = text.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(word)) return true;
    if (["0", "false", "no", "off"].includes(word)) return false;
    throw invalidOption(what, `must be 1, true, yes or on (or 0, false, no, off), not ${describe(text)}`);
  },
};

/**
 * The name is sent to every client, so it must not carry control characters
 * (a name with ESC or CR could drive the client's terminal or break framing),
 * and it cannot be empty: adding it is the whole of a reply.
 */
export const NAME_RULE: OptionRule<string> = {
  check(value, option) {
    if (typeof value !== "string") throw invalidOption(option, `must be a string, not ${describe(value)}`);
    if (value === "") {
      throw invalidOption(option, `must not be empty: every reply adds the name to the line, so there must be one to add`);
    }
    // C0 controls, DEL and C1 controls.
    const control = /[\u0000-\u001f\u007f-\u009f]/u.exec(value);
    if (control) {
      throw invalidOption(option, `must not contain control characters (found ${codePoint(control[0])}); use printable text`);
    }
    // Format characters that reorder or hide text: an override (U+202A-U+202E) or isolate (U+2066-U+2069)
    // would reverse the rest of every reply and of the operator's log lines; zero-width characters and
    // direction marks (U+200B-U+200F) make a name that looks like another.
    const format = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069]/u.exec(value);
    if (format) {
      throw invalidOption(
        option,
        `must not contain invisible or text-direction characters (found ${codePoint(format[0])}), which reorder or hide text; use printable text`,
      );
    }
    // A lone surrogate cannot be encoded as UTF-8 and would reach clients as U+FFFD.
    if (/\p{Surrogate}/u.test(value)) throw invalidOption(option, `must be valid Unicode text`);
    const bytes = Buffer.byteLength(value, "utf8");
    if (bytes > MAX_NAME_BYTES) throw invalidOption(option, `is ${bytes} bytes long; the limit is ${MAX_NAME_BYTES} bytes`);
    return value;
  },
  fromText(text, what) {
    return this.check(text, what);
  },
};

/**
 * An IP address, or a host name by RFC 1123's rules. Checked here rather
 * than left to the resolver: getaddrinfo refuses some names (too long, odd
 * characters) by throwing from inside listen(), and others only after a
 * lookup, in words no user can act on.
 */
export const HOST_RULE: OptionRule<string> = {
  check(value, option) {
    const problem = hostProblem(value);
    if (problem !== undefined) throw invalidOption(option, problem);
    return value as string;
  },
  fromText(text, what) {
    return this.check(text, what);
  },
};

const HOST_EXAMPLES = "such as 127.0.0.1, 0.0.0.0, :: or localhost";

function hostProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value.trim() === "") {
    return `must be a host name or an IP address ${HOST_EXAMPLES}, not ${describe(value)}`;
  }
  if (isIP(value) !== 0) return undefined;
  if (/^\[.*\]$/.test(value) && isIP(value.slice(1, -1)) === 6) {
    return `must be written without brackets for an IPv6 address: ${value.slice(1, -1)}`;
  }
  const odd = /[^A-Za-z0-9.-]/u.exec(value);
  if (odd) {
    const ascii = domainToASCII(value);
    // An international name has an ASCII form (xn--…) the resolver takes.
    if (/^[\p{L}\p{M}\p{N}.-]+$/u.test(value) && ascii !== "" && hostProblem(ascii) === undefined) {
      return `must be written in its ASCII form: ${ascii}`;
    }
    const shown = /[\p{L}\p{N}\p{P}\p{S}]/u.test(odd[0]) ? `'${odd[0]}' (${codePoint(odd[0])})` : codePoint(odd[0]);
    return `contains ${shown}; a host name has only letters, digits, '-' and '.'`;
  }
  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  if (name.length > MAX_HOST_NAME_LENGTH) {
    return `is ${name.length} characters long; a host name has at most ${MAX_HOST_NAME_LENGTH}`;
  }
  for (const label of name.split(".")) {
    if (label === "") return `has an empty part between dots (${describe(value)})`;
    if (label.length > MAX_HOST_LABEL_LENGTH) {
      return `has a part of ${label.length} characters; each dot-separated part of a host name has at most ${MAX_HOST_LABEL_LENGTH}`;
    }
    if (label.startsWith("-") || label.endsWith("-")) return `has a part that starts or ends with '-' (${describe(label)})`;
  }
  return undefined;
}

/**
 * An options argument: undefined means all defaults; anything else must be
 * an object whose every key is a known option. A misspelled option that is
 * silently ignored is a setting silently not made, so it is refused with the
 * nearest known name.
 */
export function checkOptionKeys(options: unknown, known: readonly string[], what = "options"): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalidOption(what, `must be an object such as { ${known[0]}: … } (or left out for the defaults), not ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const nearest = nearestName(key, known);
    throw invalidOption(key, `is not an option${nearest ? ` (did you mean ${nearest}?)` : ""}; the options are ${known.join(", ")}`);
  }
  return options as Record<string, unknown>;
}

/**
 * An option's value: its default when left out (undefined), else checked.
 * null is refused rather than taken as "the default": it is as likely a bug
 * (a config field not filled in) as a request.
 */
export function optionValue<T>(options: Record<string, unknown>, option: string, rule: OptionRule<T>, fallback: T): T {
  const value = options[option];
  if (value === undefined) return fallback;
  if (value === null) throw invalidOption(option, `is null; leave it out (or undefined) for the default, ${describe(fallback)}`);
  return rule.check(value, option);
}

/** The known name closest to a misspelled one, if one is close enough to be what was meant. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  // Within a third of the name's length: "maxLineLenght" → maxLineLength, but "colour" → nothing.
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * Optimal string alignment distance: Levenshtein plus the swap of two
 * neighbours, the commonest typo ("Lenght"), counted as one edit.
 * Option names are short, so the quadratic table is a few hundred cells.
 */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

// Value-or-text checks for command-line code that holds text or a default
// number (name-echo connect, name-echo bench): text is parsed, a number checked.

/** A port a client connects to. */
export function validatePort(value: unknown, what = "port"): number {
  return typeof value === "string" ? TARGET_PORT_RULE.fromText(value, what) : TARGET_PORT_RULE.check(value, what);
}

/** A whole number within [min, max]. */
export function validateInteger(value: unknown, what: string, min: number, max: number, hint = ""): number {
  const rule = integerRule(min, max, hint);
  return typeof value === "string" ? rule.fromText(value, what) : rule.check(value, what);
}

/** Seconds as a number of seconds (fractions allowed), within [min, max]. */
export function validateSeconds(value: unknown, what: string, min: number, max: number): number {
  const rule = secondsRule(min, max);
  return typeof value === "string" ? rule.fromText(value, what) : rule.check(value, what);
}

export function validateName(value: unknown, what = "name"): string {
  return NAME_RULE.check(value, what);
}

export function validateHost(value: unknown, what = "host"): string {
  return HOST_RULE.check(value, what);
}

/** A value as a message shows it: strings quoted, with invisible and control characters escaped. */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    const shown = value.length > 60 ? `${value.slice(0, 40)}…` : value;
    // \p{C}: controls, format characters such as U+202E (which would reverse the rest of the line), unassigned.
    return JSON.stringify(shown).replace(/\p{C}/gu, (char) => codePoint(char).replace("U+", "\\u"));
  }
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}
