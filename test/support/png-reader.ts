import { crc32, inflateSync } from 'node:zlib';

/**
 * A PNG reader written from the PNG specification (W3C, 2nd edition) for tests, independent of
 * src/render/png.ts: it checks the signature, every chunk's CRC (node:zlib's crc32), the IHDR fields and the
 * chunk order, and undoes all five row filters. It reads 8-bit grey, RGB and RGBA without interlace.
 */
export interface DecodedPng {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  /** The samples of the pixel at (x, y): [r, g, b] for RGB. */
  at(x: number, y: number): number[];
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 6: 4 };

interface Chunk {
  readonly type: string;
  readonly data: Buffer;
}

function chunks(png: Buffer): Chunk[] {
  if (png.length < 8 || SIGNATURE.some((byte, i) => png[i] !== byte)) throw new Error('not a PNG signature');
  const found: Chunk[] = [];
  let offset = 8;
  while (offset < png.length) {
    if (offset + 12 > png.length) throw new Error(`truncated chunk at byte ${offset}`);
    const length = png.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > png.length) throw new Error(`chunk at byte ${offset} runs past the end`);
    const typeAndData = png.subarray(offset + 4, offset + 8 + length);
    const type = typeAndData.subarray(0, 4).toString('latin1');
    if (crc32(typeAndData) !== png.readUInt32BE(offset + 8 + length)) throw new Error(`bad CRC in ${type}`);
    found.push({ type, data: typeAndData.subarray(4) });
    offset = end;
  }
  return found;
}

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
};

/** Undoes each scanline's filter in place of a copy; `bpp` bytes per pixel. */
function unfilter(raw: Buffer, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? (out[row + i - bpp] ?? 0) : 0;
      const b = y > 0 ? (out[row - stride + i] ?? 0) : 0;
      const c = y > 0 && i >= bpp ? (out[row - stride + i - bpp] ?? 0) : 0;
      const x = line[i] ?? 0;
      const predictor =
        filter === 0
          ? 0
          : filter === 1
            ? a
            : filter === 2
              ? b
              : filter === 3
                ? Math.floor((a + b) / 2)
                : filter === 4
                  ? paeth(a, b, c)
                  : Number.NaN;
      if (Number.isNaN(predictor)) throw new Error(`unknown filter type ${filter} on row ${y}`);
      out[row + i] = (x + predictor) & 0xff;
    }
  }
  return out;
}

export function readPng(png: Buffer): DecodedPng {
  const all = chunks(png);
  const [ihdr] = all;
  if (ihdr?.type !== 'IHDR' || ihdr.data.length !== 13) throw new Error('IHDR is not the first chunk');
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  const [depth, colorType, compression, filterMethod, interlace] = ihdr.data.subarray(8);
  const channels = CHANNELS[colorType ?? -1];
  if (width === 0 || height === 0) throw new Error('IHDR: zero width or height');
  if (depth !== 8 || channels === undefined)
    throw new Error(`IHDR: depth ${depth}, colour type ${colorType}`);
  if (compression !== 0 || filterMethod !== 0 || interlace !== 0)
    throw new Error(`IHDR: compression ${compression}, filter ${filterMethod}, interlace ${interlace}`);
  if (all.at(-1)?.type !== 'IEND' || all.at(-1)?.data.length !== 0) throw new Error('IEND is not last');
  const idatAt = all.flatMap((c, i) => (c.type === 'IDAT' ? [i] : []));
  if (idatAt.length === 0) throw new Error('no IDAT');
  if (idatAt.some((at, i) => i > 0 && at !== (idatAt[i - 1] ?? 0) + 1))
    throw new Error('IDATs not consecutive');
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idatAt.map((i) => all[i]?.data ?? Buffer.alloc(0))));
  if (raw.length !== height * (stride + 1))
    throw new Error(`image data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const samples = unfilter(raw, height, stride, channels);
  return {
    width,
    height,
    channels,
    at: (x, y) => {
      if (x < 0 || y < 0 || x >= width || y >= height) throw new Error(`(${x}, ${y}) is outside the image`);
      const i = y * stride + x * channels;
      return [...samples.subarray(i, i + channels)];
    },
  };
}
