/**
 * The fast path of the input side: complete, plain lines framed and answered
 * in one pass over the bytes, straight into the output buffer.
 *
 * Almost all traffic is plain: nc, scripts, a line-mode telnet and the load
 * tools send whole lines of ordinary bytes ending in LF or CR LF. For those
 * the full path (TelnetParser → TelnetSession's edit bytes → LineFramer →
 * ReplyBatch) costs a handful of native scans and four calls per line; this
 * loop looks at each byte once and copies it as it goes.
 *
 * It only ever starts where the full path would hold nothing (no telnet
 * command half read, no unfinished line, no CR waiting for its LF, no echo),
 * and it stops, at the start of the line, at the first thing that needs the
 * full path:
 *   - a byte with a meaning: IAC (0xFF), BS, DEL, Ctrl-C (ETX);
 *   - a line longer than maxLineLength (its notice is the full path's);
 *   - a line that does not end in this chunk, or a CR that is its last byte
 *     or is followed by IAC (what follows decides whether it is CR LF);
 * and after the line that fills the output budget, as the full path does.
 * So the full path, fed the rest of the chunk, goes on exactly as if it had
 * read the whole chunk itself: the two give the same bytes, replies and
 * events for any input (test/protocol/plain-lines.test.ts proves it on random
 * input at random chunkings).
 *
 * Pure: bytes in, bytes out, no sockets, no timers.
 */
import type { ReplyBatch } from "./reply.js";

const ETX = 0x03;
const BS = 0x08;
const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const DEL = 0x7f;
const IAC = 0xff;

/**
 * Answers the plain lines of `chunk` from `from` on into `batch`. Returns
 * where it stopped: the start of the first line it left to the full path
 * (the chunk's length when it took everything). Stops early, after a line,
 * once the batch holds `budget` bytes.
 */
export function answerPlainLines(chunk: Buffer, from: number, batch: ReplyBatch, maxLineLength: number, budget: number): number {
  const end = chunk.length;
  const suffix = batch.suffix;
  const suffixLength = suffix.length;
  let lineStart = from;
  let length = batch.length;
  let replies = 0;
  // Room for the replies of the whole chunk at once, in the common case: its
  // bytes and a quarter more (a 6-byte suffix on 24-byte lines is a quarter).
  // Shorter lines make it grow by doubling, below.
  let out = batch.room(end - from + ((end - from) >> 2) + suffixLength);
  while (lineStart < end) {
    // A line is copied as it is scanned, so the output needs room for the
    // longest line this chunk can still hold (bounded by the limit) plus the suffix.
    const scanEnd = Math.min(end, lineStart + maxLineLength + 1);
    const room = scanEnd - lineStart + suffixLength;
    if (out.length - length < room) {
      batch.commit(length, replies);
      replies = 0;
      out = batch.room(room);
    }
    let at = length;
    let i = lineStart;
    let next = -1;
    for (; i < scanEnd; i++) {
      const byte = chunk[i]!;
      // Printable ASCII and UTF-8 (but 0xFF): the common case, one range test.
      if ((byte > CR && byte < DEL) || (byte > DEL && byte < IAC)) {
        out[at++] = byte;
        continue;
      }
      if (byte === LF) {
        next = i + 1;
        break;
      }
      if (byte === CR) {
        // A CR as the chunk's last byte: whether an LF follows is the next read's; the framer keeps that state.
        if (i + 1 === end) break;
        const after = chunk[i + 1];
        // A telnet command between the CR and its LF is taken out of the data
        // first (CR IAC NOP LF is one line end): the parser's to see.
        if (after === IAC) break;
        next = after === LF || after === NUL ? i + 2 : i + 1;
        break;
      }
      if (byte === IAC || byte === BS || byte === DEL || byte === ETX) break;
      // Any other control byte (NUL, ESC, ...) is data.
      out[at++] = byte;
    }
    // No line end: the line is unfinished, over the limit, or holds a byte with a meaning.
    if (next === -1 || i - lineStart > maxLineLength) break;
    if (i === lineStart) {
      const reply = batch.emptyLineReply;
      for (let k = 0; k < reply.length; k++) out[at++] = reply[k]!;
    } else {
      for (let k = 0; k < suffixLength; k++) out[at++] = suffix[k]!;
    }
    length = at;
    replies++;
    lineStart = next;
    if (length >= budget) break;
  }
  batch.commit(length, replies);
  return lineStart;
}
