/**
 * The fast path of the input side: complete, plain lines framed and answered
 * in one pass over the bytes, straight into the output buffer.
 *
 * Almost all traffic is plain: nc, scripts, a line-mode telnet and the load
 * tools send whole lines of ordinary bytes ending in LF or CR LF. For those
 * the full path (TelnetParser → TelnetSession's edit bytes → LineFramer →
 * OutputBatch) costs a handful of native scans and four calls per line; this
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
import type { OutputBatch } from "./reply.js";

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
 * once the batch holds `budget` bytes. When what it left is only the start
 * of a plain line, unfinished at the chunk's end (a line cut by the byte
 * stream), it returns that position bit-flipped (`~at`, negative): the
 * caller can hand those bytes straight to the framer to keep.
 *
 * `held[0, heldLength)` is the start of the first line, kept from earlier
 * chunks (the framer's unfinished line): its reply starts with those bytes,
 * and they count toward the limit. If that line is left to the full path,
 * nothing was taken (the return value is `from`, or `~from`).
 */
export function answerPlainLines(
  chunk: Buffer,
  from: number,
  batch: OutputBatch,
  maxLineLength: number,
  budget: number,
  held: Buffer | null = null,
  heldLength = 0,
): number {
  const end = chunk.length;
  const suffix = batch.suffix;
  const suffixLength = suffix.length;
  let lineStart = from;
  let length = batch.length;
  let replies = 0;
  // Room for the replies of the whole chunk at once, in the common case: its
  // bytes and a quarter more (a 6-byte suffix on 24-byte lines is a quarter).
  // Shorter lines make it grow by doubling, below.
  let out = batch.room(end - from + ((end - from) >> 2) + suffixLength + heldLength);
  /** Bytes of the current line kept from earlier chunks: only the first line has any. */
  let prefixLength = heldLength;
  // For long lines (see SHORT_RUN): the results of the last native scans,
  // each valid while it is at or past the scan position (-2: not scanned
  // yet; -1: none in the rest of the chunk), so a chunk costs one scan per
  // long line for its line end and one in all for the bytes with a meaning.
  let lf = -2;
  let cr = -2;
  let meaningful = -2;
  while (lineStart < end) {
    // A line is copied as it is scanned, so the output needs room for the
    // longest line this chunk can still hold (bounded by the limit) plus the suffix.
    const scanEnd = Math.min(end, lineStart + maxLineLength - prefixLength + 1);
    const room = prefixLength + scanEnd - lineStart + suffixLength;
    if (out.length - length < room) {
      batch.commit(length, replies);
      replies = 0;
      out = batch.room(room);
    }
    let at = length;
    for (let k = 0; k < prefixLength; k++) out[at++] = held![k]!;
    let i = lineStart;
    // The first SHORT_RUN bytes of a line: looked at and copied one by one.
    const shortEnd = Math.min(scanEnd, lineStart + SHORT_RUN);
    for (; i < shortEnd; i++) {
      const byte = chunk[i]!;
      // Printable ASCII and UTF-8 (but 0xFF): the common case, one range test.
      if ((byte > CR && byte < DEL) || (byte > DEL && byte < IAC)) {
        out[at++] = byte;
        continue;
      }
      if (byte === LF || byte === CR || byte === IAC || byte === BS || byte === DEL || byte === ETX) break;
      // Any other control byte (NUL, ESC, ...) is data.
      out[at++] = byte;
    }
    if (i === shortEnd) {
      // No line end yet. At the chunk's end: an unfinished plain line.
      if (shortEnd === end) return unfinishedAt(batch, length, replies, lineStart);
      // Over the limit: the full path's (its notice).
      if (shortEnd === scanEnd) break;
      // A long line: the rest of it by native scans and one copy.
      if (meaningful === -2 || (meaningful !== -1 && meaningful < i)) meaningful = firstMeaningfulByte(chunk, i);
      if (lf !== -1 && lf < i) lf = chunk.indexOf(LF, i);
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      const lineEnd = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (lineEnd === -1 && meaningful === -1 && scanEnd === end) return unfinishedAt(batch, length, replies, lineStart);
      if (lineEnd === -1 || lineEnd >= scanEnd || (meaningful !== -1 && meaningful < lineEnd)) break;
      chunk.copy(out, at, i, lineEnd);
      at += lineEnd - i;
      i = lineEnd;
    }
    let next: number;
    const byte = chunk[i];
    if (byte === LF) {
      next = i + 1;
    } else if (byte === CR) {
      // A CR as the chunk's last byte: whether an LF follows is the next read's; the framer keeps that state.
      if (i + 1 === end) break;
      const after = chunk[i + 1];
      // A telnet command between the CR and its LF is taken out of the data
      // first (CR IAC NOP LF is one line end): the parser's to see.
      if (after === IAC) break;
      next = after === LF || after === NUL ? i + 2 : i + 1;
    } else {
      // A byte with a meaning: the full path's.
      break;
    }
    if (prefixLength + i - lineStart > maxLineLength) break;
    if (i === lineStart && prefixLength === 0) {
      const reply = batch.emptyLineReply;
      for (let k = 0; k < reply.length; k++) out[at++] = reply[k]!;
    } else {
      for (let k = 0; k < suffixLength; k++) out[at++] = suffix[k]!;
    }
    length = at;
    replies++;
    lineStart = next;
    prefixLength = 0;
    if (length >= budget) break;
  }
  batch.commit(length, replies);
  return lineStart;
}

/** Commits what was written and says: an unfinished plain line from `lineStart` to the chunk's end. */
function unfinishedAt(batch: OutputBatch, length: number, replies: number, lineStart: number): number {
  batch.commit(length, replies);
  return ~lineStart;
}

/**
 * How far into a line the bytes are looked at one by one before the rest is
 * left to native scans and one copy (Buffer#indexOf, Buffer#copy): each of
 * those calls costs more than a JS loop over a short line, and less than one
 * over a long one. Measured with `npm run bench:protocol`.
 */
const SHORT_RUN = 64;

/** The first IAC, BS, DEL or Ctrl-C from `from` on, or -1. */
function firstMeaningfulByte(chunk: Buffer, from: number): number {
  let first = -1;
  for (const byte of MEANINGFUL) {
    const at = chunk.indexOf(byte, from);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  return first;
}

const MEANINGFUL = [IAC, BS, DEL, ETX];
