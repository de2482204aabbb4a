/**
 * What the server says to a client on its own initiative. Each is one line
 * that says what happened, ended with CR LF like every reply, so a person at
 * telnet reads it and a script can recognise it by its first word.
 */

export function lineTooLongNotice(limit: number): Buffer {
  return Buffer.from(`error: line longer than ${limit} bytes; the rest of it was discarded\r\n`);
}

export function serverFullNotice(limit: number): Buffer {
  return Buffer.from(`error: server is full (${limit} connections); try again later\r\n`);
}

export function outOfDescriptorsNotice(): Buffer {
  return Buffer.from("error: server is out of capacity (file descriptors); try again later\r\n");
}

export function idleNotice(seconds: number): Buffer {
  return Buffer.from(`closing: no input for ${seconds} ${seconds === 1 ? "second" : "seconds"}\r\n`);
}

export const SHUTDOWN_NOTICE = Buffer.from("closing: the server is shutting down\r\n");

export function tooManyFromAddressNotice(limit: number): Buffer {
  return Buffer.from(`error: too many connections from your address (${limit}); try again later\r\n`);
}

/** To a client closed because all clients together hold too much memory and it holds the most. */
export function clientMemoryNotice(heldBytes: number): Buffer {
  return Buffer.from(`closing: the server is short of memory for clients and this connection held the most (${heldBytes} bytes unread or unprocessed)\r\n`);
}
