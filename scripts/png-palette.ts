/**
 * A browser's screenshot PNG (8-bit RGB or RGBA, not interlaced) made small
 * for committing: at most 256 colours in a palette, compressed at zlib's best.
 * A page of text and flat colours has a few hundred colours (most of them the
 * anti-aliased edges of letters), so the picture looks the same at a third of
 * the size, with no image tool to install.
 */
import { deflateSync, inflateSync } from "node:zlib";

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Pixels {
  width: number;
  height: number;
  /** 0xRRGGBB per pixel; alpha is dropped (a screenshot is opaque). */
  rgb: Uint32Array;
}

function decode(png: Buffer): Pixels {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG");
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("latin1", offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const [depth, colourType, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
        throw new Error(`only 8-bit RGB or RGBA PNGs without interlacing (depth ${depth}, colour type ${colourType})`);
      }
      channels = colourType === 2 ? 3 : 4;
    } else if (type === "IDAT") {
      data.push(body);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? rows[out + x - channels]! : 0;
      const up = y > 0 ? rows[out - stride + x]! : 0;
      const upLeft = y > 0 && x >= channels ? rows[out - stride + x - channels]! : 0;
      let predicted: number;
      switch (filter) {
        case 0:
          predicted = 0;
          break;
        case 1:
          predicted = left;
          break;
        case 2:
          predicted = up;
          break;
        case 3:
          predicted = (left + up) >> 1;
          break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default:
          throw new Error(`PNG filter ${filter}`);
      }
      rows[out + x] = (line[x]! + predicted) & 0xff;
    }
  }
  const rgb = new Uint32Array(width * height);
  for (let i = 0; i < rgb.length; i++) {
    const at = i * channels;
    rgb[i] = (rows[at]! << 16) | (rows[at + 1]! << 8) | rows[at + 2]!;
  }
  return { width, height, rgb };
}

/** The 256 most used colours, and every pixel as the index of the nearest of them. */
function quantize({ rgb }: Pixels): { palette: number[]; indexes: Uint8Array } {
  const counts = new Map<number, number>();
  for (const colour of rgb) counts.set(colour, (counts.get(colour) ?? 0) + 1);
  const palette = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 256)
    .map(([colour]) => colour);
  const nearest = new Map<number, number>(palette.map((colour, index) => [colour, index]));
  const indexes = new Uint8Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) {
    const colour = rgb[i]!;
    let index = nearest.get(colour);
    if (index === undefined) {
      let best = Infinity;
      palette.forEach((candidate, at) => {
        const dr = ((colour >> 16) & 0xff) - ((candidate >> 16) & 0xff);
        const dg = ((colour >> 8) & 0xff) - ((candidate >> 8) & 0xff);
        const db = (colour & 0xff) - (candidate & 0xff);
        const distance = 3 * dr * dr + 4 * dg * dg + 2 * db * db;
        if (distance < best) [best, index] = [distance, at];
      });
      nearest.set(colour, index!);
    }
    indexes[i] = index!;
  }
  return { palette, indexes };
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The same picture as an indexed PNG of at most 256 colours. */
export function paletteOf(png: Buffer): Buffer {
  const pixels = decode(png);
  const { palette, indexes } = quantize(pixels);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(pixels.width, 0);
  header.writeUInt32BE(pixels.height, 4);
  header.set([8, 3, 0, 0, 0], 8);
  const plte = Buffer.alloc(palette.length * 3);
  palette.forEach((colour, i) => plte.set([(colour >> 16) & 0xff, (colour >> 8) & 0xff, colour & 0xff], i * 3));
  // Filter 0 on every row: with a palette, prediction only scrambles the indexes zlib would repeat.
  const raw = Buffer.alloc((pixels.width + 1) * pixels.height);
  for (let y = 0; y < pixels.height; y++) raw.set(indexes.subarray(y * pixels.width, (y + 1) * pixels.width), y * (pixels.width + 1) + 1);
  return Buffer.concat([
    SIGNATURE,
    chunk("IHDR", header),
    chunk("PLTE", plte),
    chunk("IDAT", deflateSync(raw, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
