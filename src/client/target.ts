/**
 * Where a client connects: the one parser of `host:port` text, shared by
 * NameEchoClient.connect(), `name-echo connect` and `name-echo bench`, so
 * each accepts the same spellings and refuses the same mistakes.
 *
 * A target is an Endpoint whose address may still be a host name
 * ("localhost:8888"); it is printed the same way as a connection's ends.
 */
import { isIP } from "node:net";
import { Endpoint } from "../endpoint.js";
import { invalidOption } from "../errors.js";
import { DEFAULTS, describe, HOST_RULE, optionValue, TARGET_PORT_RULE, validateHost, validatePort } from "../options.js";

/** Where to connect: what NameEchoServer.listen() resolves to fits as it is. */
export interface ClientTarget {
  host?: string;
  /** The same as host; accepted so a server's listening address can be passed straight in. */
  address?: string;
  port?: number;
}

/** How the caller names the parts of a target in its errors: options for the library, flags or arguments for the CLI. */
export interface TargetNames {
  /** The whole text, for a mistake that is no one part's (an IPv6 address without brackets). */
  target: string;
  host: string;
  port: string;
}

const LIBRARY_NAMES: TargetNames = { target: "target", host: "host", port: "port" };

/**
 * `host:port`, `[v6]:port`, `host`, `[v6]`, a bare IPv6 address, `:port`
 * or a port alone (all digits) → an Endpoint; a part left out is the
 * default (127.0.0.1, 8888). With `port` given apart (`name-echo connect
 * HOST PORT`), `text` is the host alone.
 *
 * An IPv6 address and a port without brackets ("::1:80") cannot be told
 * apart, so that is refused with the way to write it.
 */
export function parseTarget(text: string, names: TargetNames = LIBRARY_NAMES, port?: string): Endpoint {
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (port !== undefined) return target(bracketed ? bracketed[1]! : text, port, names);
  if (bracketed) return target(bracketed[1]!, bracketed[2], names);
  if (/^\d+$/.test(text)) return target("", text, names);
  const colon = text.lastIndexOf(":");
  if (colon === -1) return target(text, undefined, names);
  if (text.indexOf(":") === colon) return target(text.slice(0, colon), text.slice(colon + 1), names);
  // Several colons: an IPv6 address, with a port after it or not.
  const beforePort = /^(.*):\d+$/.exec(text)?.[1];
  if (isIP(text) === 6 && (beforePort === undefined || isIP(beforePort) !== 6)) return target(text, undefined, names);
  throw invalidOption(names.target, `${describe(text)} is not clear: write an IPv6 address in brackets, e.g. [::1]:8888`);
}

/** `{ host, port }`, `{ address, port }` (an Endpoint, what listen() resolved to), text for parseTarget(), or a port number. */
export function resolveTarget(given: ClientTarget | string | number): Endpoint {
  if (typeof given === "number") return new Endpoint(DEFAULTS.host, validatePort(given));
  if (typeof given === "string") return parseTarget(given);
  if (given === null || typeof given !== "object") {
    throw invalidOption("target", `must be { host, port }, "host:port" or a port number, not ${describe(given)}`);
  }
  // Only undefined means "the default": a null host or port is a mistake to report, not 127.0.0.1:8888.
  const fields = given as Record<string, unknown>;
  const host = optionValue(fields, fields.host === undefined && fields.address !== undefined ? "address" : "host", HOST_RULE, DEFAULTS.host);
  return new Endpoint(host, optionValue(fields, "port", TARGET_PORT_RULE, DEFAULTS.port));
}

function target(host: string, port: string | undefined, names: TargetNames): Endpoint {
  return new Endpoint(
    host === "" ? DEFAULTS.host : validateHost(host, names.host),
    port === undefined || port === "" ? DEFAULTS.port : validatePort(port, names.port),
  );
}
