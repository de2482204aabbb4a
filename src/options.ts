/**
 * Defaults and validators shared by the library and the CLI, so that
 * `new NameEchoServer({ port: 70000 })` and `name-echo serve --port 70000`
 * fail with the same message.
 */
import { invalidOption } from "./errors.js";

export const DEFAULTS = Object.freeze({
  host: "127.0.0.1",
  port: 8888,
  name: "Ali",
  /** Longer lines are refused; 8 KiB is far more than anyone types and caps what one client can make the server hold. */
  maxLineLength: 8192,
  /** Each connection costs a file descriptor and a little memory; 10,000 fits the usual fd limits with room to spare. */
  maxConnections: 10_000,
  /** Seconds without traffic before a client is told and closed: long enough for a person thinking, short enough to reclaim abandoned sessions. */
  idleTimeoutSeconds: 300,
  /** Seconds a graceful stop waits for clients to go before dropping them. */
  shutdownTimeoutSeconds: 10,
  /** Unsent reply bytes per client before the server stops reading from it (backpressure). */
  maxUnsentBytes: 1024 * 1024,
  /**
   * Off: one address may be a whole office behind NAT, or every client at
   * once behind a load balancer without PROXY protocol; HAProxy and nginx
   * leave it to the operator too. See README "Limits".
   */
  maxConnectionsPerIp: 0,
  /**
   * Seconds a client told to go may take nothing and not close before it is
   * dropped: Apache's lingering close waits 2 s per read (nginx 5 s), enough
   * for a reader on a slow link to take its last bytes, short enough that a
   * stop with `nc`-like clients attached ends in seconds.
   */
  lingerTimeoutSeconds: 2,
  /** Kernel accept queue; a burst of connects larger than this would be dropped and retried by clients after 1 s. */
  backlog: 4096,
  /** Seconds a new connection has for its PROXY header and TLS handshake: a proxy sends its header at once, and a TLS handshake takes a few round trips. */
  handshakeTimeoutSeconds: 5,
  /** The metrics port answers on loopback only unless told otherwise: metrics are for the operator, not the clients. */
  metricsHost: "127.0.0.1",
});

/** The longest name accepted, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;

export function validatePort(value: unknown, what = "port"): number {
  if (typeof value === "string") {
    if (!/^\d+$/.test(value.trim())) {
      throw invalidOption(`${what} must be a number from 0 to 65535 (0 picks a free port), not "${value}"`);
    }
    value = Number(value.trim());
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw invalidOption(`${what} must be a whole number from 0 to 65535 (0 picks a free port), not ${describe(value)}`);
  }
  return value;
}

/** A whole number within [min, max]; strings of digits are accepted for the CLI. */
export function validateInteger(value: unknown, what: string, min: number, max: number, hint = ""): number {
  let number = value;
  if (typeof value === "string") {
    number = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  }
  if (typeof number !== "number" || !Number.isInteger(number) || number < min || number > max) {
    throw invalidOption(
      `${what} must be a whole number from ${min} to ${max}${hint ? ` ${hint}` : ""}, not ${describe(value)}`,
    );
  }
  return number;
}

/** Seconds as a number of seconds (fractions allowed), within [min, max]. */
export function validateSeconds(value: unknown, what: string, min: number, max: number): number {
  let number = value;
  if (typeof value === "string") {
    number = /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  }
  if (typeof number !== "number" || !Number.isFinite(number) || number < min || number > max) {
    throw invalidOption(`${what} must be a number of seconds from ${min} to ${max}, not ${describe(value)}`);
  }
  return number;
}

/**
 * The name is sent to every client, so it must not carry control characters
 * (a name with ESC or CR could drive the client's terminal or break framing).
 */
export function validateName(value: unknown, what = "name"): string {
  if (typeof value !== "string") {
    throw invalidOption(`${what} must be a string, not ${describe(value)}`);
  }
  // C0 controls, DEL and C1 controls.
  const control = /[\u0000-\u001f\u007f-\u009f]/u.exec(value);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).padStart(2, "0");
    throw invalidOption(`${what} must not contain control characters (found U+00${code.toUpperCase()}); use printable text`);
  }
  // A lone surrogate cannot be encoded as UTF-8 and would reach clients as U+FFFD.
  if (/\p{Surrogate}/u.test(value)) {
    throw invalidOption(`${what} must be valid Unicode text`);
  }
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_NAME_BYTES) {
    throw invalidOption(`${what} is ${bytes} bytes long; the limit is ${MAX_NAME_BYTES} bytes`);
  }
  return value;
}

export function validateHost(value: unknown, what = "host"): string {
  if (typeof value !== "string" || value.trim() === "" || /[\s\u0000-\u001f]/.test(value)) {
    throw invalidOption(`${what} must be a host name or an IP address such as 127.0.0.1, 0.0.0.0 or ::, not ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value == null) return String(value);
  return typeof value;
}
