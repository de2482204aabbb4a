/**
 * Where a terminal of known width (NAWS) has its cursor while the line
 * editor draws a line that wraps onto several rows, and the bytes that move
 * it. The line starts at column 0 of a row; a position is a cell count from
 * there, as if the rows were laid end to end (row = cell / width).
 *
 * Two terminal rules make wrapped lines go wrong when not modelled:
 *
 * - Pending wrap (xterm's, tmux's, PuTTY's "xenl"): a character written in
 *   the last column leaves the cursor on it; only the next character moves
 *   to the next row. A BS or a cursor movement in between acts from the last
 *   column. So after such a write the cursor is not where the cell count
 *   says; `pending` records it, and every movement from there starts with CR.
 * - BS does not go back over a wrap: at column 0 it stays. Going up a row
 *   takes CR and CUU (`ESC [ n A`), as readline does on a terminal it knows.
 *
 * A double-width character that does not fit in a row's last column goes to
 * the next row (all those terminals do it), leaving that cell blank: the
 * editor writes the blank itself (paddingBefore), so that whatever was in
 * the cell before is gone and the terminal never has to wrap a wide
 * character on its own.
 *
 * Pure: the bytes go to an output, nothing else is touched.
 */
import type { EditorOutput } from "./line-editor.js";

const CR = 0x0d;
const LF = 0x0a;
const BS = 0x08;
const CRLF = Buffer.from("\r\n");

export class WrappedCursor {
  /** Columns of the terminal, at least 2 (a double-width character must fit). */
  readonly width: number;
  /** The cursor, in cells from the line's start. */
  cell = 0;
  /** The last write filled a row: the terminal's cursor is still on its last column. */
  pending = false;

  constructor(width: number) {
    if (!Number.isInteger(width) || width < 2) throw new RangeError(`width must be a whole number of columns >= 2, not ${width}`);
    this.width = width;
  }

  /** Cells of blank to write before a character `columns` wide here, so that it starts a row rather than being split. */
  paddingBefore(columns: number): number {
    const column = this.cell % this.width;
    return column + columns > this.width ? this.width - column : 0;
  }

  /** The terminal wrote `columns` cells at the cursor (the padding included, in its own call). */
  wrote(columns: number): void {
    if (columns <= 0) return;
    this.cell += columns;
    this.pending = this.cell % this.width === 0;
  }

  /** The cursor is at the start of a fresh row (after a CR LF, at the line's start). */
  home(): void {
    this.cell = 0;
    this.pending = false;
  }

  /** Moves the terminal's cursor to `target` (a cell count), with the fewest plain bytes it can. */
  moveTo(target: number, out: EditorOutput): void {
    if (target === this.cell && !this.pending) return;
    const width = this.width;
    const fromRow = this.pending ? this.cell / width - 1 : Math.floor(this.cell / width);
    const fromColumn = this.pending ? width - 1 : this.cell % width;
    const toRow = Math.floor(target / width);
    const toColumn = target % width;
    if (!this.pending && toRow === fromRow) {
      // Within a row: BS back (what the editor sends without a width too), CUF forward.
      if (toColumn < fromColumn) out.add(Buffer.alloc(fromColumn - toColumn, BS));
      else out.add(Buffer.from(`\x1b[${toColumn - fromColumn}C`, "latin1"));
    } else if (toRow === fromRow + 1 && toColumn === 0) {
      // The start of the next row, which may not exist yet: CR LF scrolls if it must.
      out.add(CRLF);
    } else {
      const moves: number[] = [CR];
      if (toRow < fromRow) moves.push(...Buffer.from(`\x1b[${fromRow - toRow}A`, "latin1"));
      // LF, not CUD: a row below the screen's last is made by scrolling.
      for (let row = fromRow; row < toRow; row++) moves.push(LF);
      if (toColumn > 0) moves.push(...Buffer.from(`\x1b[${toColumn}C`, "latin1"));
      out.add(Buffer.from(moves));
    }
    this.cell = target;
    this.pending = false;
  }
}
