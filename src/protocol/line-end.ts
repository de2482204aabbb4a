/**
 * The line end of the name-echo protocol, in one place for both keepers of
 * the line being typed: the line framer (bytes, while the client echoes
 * itself) and the line editor (keys, while the server echoes).
 *
 * A line ends at LF, CR LF, CR NUL or a lone CR (PRODUCT §1). A CR ends its
 * line at once, without waiting for the next byte, so the one thing to
 * remember between bytes (and between reads) is "the last byte was a CR that
 * ended a line": the next byte may be the rest of that same line end. That is
 * parser state, never a clock (Node's readline uses a timer).
 */

export const NUL = 0x00;
export const LF = 0x0a;
export const CR = 0x0d;

/**
 * Right after a CR that ended a line: whether `byte` is the rest of that
 * line end (the LF of CR LF, the NUL of CR NUL), which ends no line of its
 * own and is not part of the next one. `undefined` (no byte yet) is not.
 */
export function completesCR(byte: number | undefined): boolean {
  return byte === LF || byte === NUL;
}
