/**
 * What the server says to a client on its own initiative, and how a client
 * tells such a notice from a reply. Both ends of the wire format live here,
 * so a notice's words and its recognition cannot drift apart.
 *
 * Each notice is one line that says what happened, ended with CR LF like
 * every reply, so a person at telnet reads it and a program recognises it by
 * its first word: `error: ` (something the client did or could not get) or
 * `closing: ` (the server is ending the connection).
 */

/** Every kind of notice; "error" and "closing" are ones this version does not know by name. */
export type NoticeKind =
  | "line-too-long"
  | "server-full"
  | "out-of-descriptors"
  | "too-many-from-address"
  | "idle"
  | "shutdown"
  | "client-memory"
  | "error"
  | "closing";

const ERROR = "error: ";
const CLOSING = "closing: ";

const LINE_TOO_LONG = "error: line longer than ";
const SERVER_FULL = "error: server is full";
const OUT_OF_DESCRIPTORS = "error: server is out of capacity (file descriptors)";
const TOO_MANY_FROM_ADDRESS = "error: too many connections from your address";
const IDLE = "closing: no input for ";
const SHUTDOWN = "closing: the server is shutting down";
const CLIENT_MEMORY = "closing: the server is short of memory for clients";

export function lineTooLongNotice(limit: number): Buffer {
  return Buffer.from(`${LINE_TOO_LONG}${limit} bytes; the rest of it was discarded\r\n`);
}

export function serverFullNotice(limit: number): Buffer {
  return Buffer.from(`${SERVER_FULL} (${limit} connections); try again later\r\n`);
}

export function outOfDescriptorsNotice(): Buffer {
  return Buffer.from(`${OUT_OF_DESCRIPTORS}; try again later\r\n`);
}

export function idleNotice(seconds: number): Buffer {
  return Buffer.from(`${IDLE}${seconds} ${seconds === 1 ? "second" : "seconds"}\r\n`);
}

export const SHUTDOWN_NOTICE = Buffer.from(`${SHUTDOWN}\r\n`);

export function tooManyFromAddressNotice(limit: number): Buffer {
  return Buffer.from(`${TOO_MANY_FROM_ADDRESS} (${limit}); try again later\r\n`);
}

/** To a client closed because all clients together hold too much memory and it holds the most. */
export function clientMemoryNotice(heldBytes: number): Buffer {
  return Buffer.from(`${CLIENT_MEMORY} and this connection held the most (${heldBytes} bytes unread or unprocessed)\r\n`);
}

/**
 * The kind of notice a line from the server is (without its line end), or
 * undefined when it is not a notice. A reply can look like one (the line
 * `error: x` gets the reply `error: x Ali`): telling them apart is the
 * caller's business, by what it is owed (see the client).
 */
export function classify(line: string): NoticeKind | undefined {
  if (line.startsWith(ERROR)) {
    if (line.startsWith(LINE_TOO_LONG)) return "line-too-long";
    if (line.startsWith(SERVER_FULL)) return "server-full";
    if (line.startsWith(OUT_OF_DESCRIPTORS)) return "out-of-descriptors";
    if (line.startsWith(TOO_MANY_FROM_ADDRESS)) return "too-many-from-address";
    return "error";
  }
  if (line.startsWith(CLOSING)) {
    if (line.startsWith(IDLE)) return "idle";
    if (line.startsWith(SHUTDOWN)) return "shutdown";
    if (line.startsWith(CLIENT_MEMORY)) return "client-memory";
    return "closing";
  }
  return undefined;
}

/** A notice after which the server answers nothing more on this connection. */
export function isClosing(kind: NoticeKind): boolean {
  return kind === "idle" || kind === "shutdown" || kind === "client-memory" || kind === "closing";
}

/** A notice that turns a new client away before it was served at all. */
export function isTurnedAway(kind: NoticeKind): boolean {
  return kind === "server-full" || kind === "out-of-descriptors" || kind === "too-many-from-address";
}

/** The notice's words after its first word (`error: ` / `closing: `), for messages. */
export function noticeText(line: string): string {
  if (line.startsWith(ERROR)) return line.slice(ERROR.length);
  if (line.startsWith(CLOSING)) return line.slice(CLOSING.length);
  return line;
}
