/**
 * A line as a terminal `width` columns wide shows it when it wraps: what the
 * narrow-pane tests compare the screen with. Characters take the columns a
 * terminal gives them (two for CJK, from Unicode's East Asian Width, as the
 * server's editor and tmux count them); a double-width character that does
 * not fit in a row's last column starts the next row.
 */
import { eastAsianWidth } from "get-east-asian-width";

export interface WrappedLine {
  /** The rows, trailing blanks trimmed, as screenAsShown() gives them. */
  rows: string[];
  /** Where the cursor shows when it is before character `cursor`: row (from the line's first) and column. */
  cursor: { row: number; column: number };
}

export function wrappedLine(line: string, width: number, cursor = [...line].length): WrappedLine {
  // Cells by column; "" is the right half of a double-width character (capture-pane shows it once).
  const rows: string[][] = [];
  let cell = 0;
  let cursorCell = -1;
  [...line].forEach((character, index) => {
    const columns = eastAsianWidth(character.codePointAt(0)!);
    if ((cell % width) + columns > width) cell += width - (cell % width);
    if (index === cursor) cursorCell = cell;
    const row = (rows[Math.floor(cell / width)] ??= []);
    row[cell % width] = character;
    if (columns === 2) row[(cell % width) + 1] = "";
    cell += columns;
  });
  if (cursorCell === -1) cursorCell = cell;
  const shown = Array.from({ length: rows.length }, (_, i) =>
    Array.from({ length: rows[i]?.length ?? 0 }, (_, k) => rows[i]![k] ?? " ")
      .join("")
      .trimEnd(),
  );
  while (shown.length > 0 && shown.at(-1) === "") shown.pop();
  return { rows: shown, cursor: { row: Math.floor(cursorCell / width), column: cursorCell % width } };
}
