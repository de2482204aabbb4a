/** One input cut into chunks, for the tests that feed the same bytes at every split point (pure protocol code). */

/** `input` cut at each of `points` (in any order; a point may repeat, giving an empty chunk). */
export function splitAt(input: Buffer, points: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points].sort((a, b) => a - b)) {
    chunks.push(input.subarray(start, point));
    start = point;
  }
  chunks.push(input.subarray(start));
  return chunks;
}

/** `input` in chunks of `size` bytes (the last one shorter). */
export function inChunksOf(input: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
  return chunks;
}
