/**
 * Data bytes on their way to a telnet peer. RFC 854: the byte 255 is IAC, so
 * a data byte 255 is sent as `IAC IAC`; since the server reads every 0xFF
 * from a client as IAC, it must double every 0xFF it sends back (in replies,
 * echo and notices), or the client's decoder reads a command there.
 */
import { IAC } from "./telnet-parser.js";

/**
 * `bytes[from, to)` with every 0xFF doubled: a view of it when there is none
 * (one native scan), else a new buffer.
 */
export function escapeIAC(bytes: Buffer, from = 0, to = bytes.length): Buffer {
  const view = from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to);
  let at = view.indexOf(IAC);
  if (at === -1) return view;
  let count = 0;
  for (let i = at; i !== -1; i = view.indexOf(IAC, i + 1)) count++;
  const escaped = Buffer.allocUnsafe(view.length + count);
  let written = 0;
  let start = 0;
  for (; at !== -1; at = view.indexOf(IAC, at + 1)) {
    written += view.copy(escaped, written, start, at + 1);
    escaped[written++] = IAC;
    start = at + 1;
  }
  view.copy(escaped, written, start);
  return escaped;
}
