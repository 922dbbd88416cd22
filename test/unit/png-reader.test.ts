import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readPng } from '../support/png-reader.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

const ihdr = (width: number, height: number, colorType = 2) => {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.set([8, colorType, 0, 0, 0], 8);
  return chunk('IHDR', data);
};

// A 2x4 RGB image, each row under another filter, the filtered bytes worked out by hand from the spec.
const PIXELS = [
  [
    [10, 20, 30],
    [15, 25, 35],
  ],
  [
    [12, 22, 32],
    [20, 30, 40],
  ],
  [
    [11, 21, 31],
    [30, 21, 20],
  ],
  [
    [13, 23, 45],
    [40, 60, 20],
  ],
];
const FILTERED = Buffer.from([
  ...[1, 10, 20, 30, 5, 5, 5], // Sub
  ...[2, 2, 2, 2, 5, 5, 5], // Up
  ...[3, 5, 10, 15, 15, 252, 241], // Average
  ...[4, 2, 2, 14, 10, 37, 245], // Paeth: picks b, a and c in the last pixel
]);

const handMade = (idat = deflateSync(FILTERED)) =>
  Buffer.concat([SIGNATURE, ihdr(2, 4), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);

describe('readPng (the tests’ own PNG reader)', () => {
  it('undoes the Sub, Up, Average and Paeth filters', () => {
    const png = handMade();

    const image = readPng(png);

    expect([image.width, image.height, image.channels]).toEqual([2, 4, 3]);
    expect([0, 1, 2, 3].map((y) => [image.at(0, y), image.at(1, y)])).toEqual(PIXELS);
  });

  it('reads image data split over several IDAT chunks', () => {
    const idat = deflateSync(FILTERED);
    const png = Buffer.concat([
      SIGNATURE,
      ihdr(2, 4),
      chunk('IDAT', idat.subarray(0, 5)),
      chunk('IDAT', idat.subarray(5)),
      chunk('IEND', Buffer.alloc(0)),
    ]);

    expect(readPng(png).at(1, 3)).toEqual([40, 60, 20]);
  });

  it('refuses a chunk whose CRC does not match', () => {
    const png = handMade();
    png[png.length - 20] = (png[png.length - 20] ?? 0) ^ 0xff;

    expect(() => readPng(png)).toThrow(/bad CRC in IDAT/);
  });

  it.each([
    [
      'a 16-bit depth',
      Buffer.concat([SIGNATURE, chunk('IHDR', Buffer.from([0, 0, 0, 2, 0, 0, 0, 4, 16, 2, 0, 0, 0]))]),
      /IHDR: depth 16/,
    ],
    [
      'interlacing',
      Buffer.concat([SIGNATURE, chunk('IHDR', Buffer.from([0, 0, 0, 2, 0, 0, 0, 4, 8, 2, 0, 0, 1]))]),
      /interlace 1/,
    ],
    [
      'a missing IEND',
      Buffer.concat([SIGNATURE, ihdr(2, 4), chunk('IDAT', deflateSync(FILTERED))]),
      /IEND is not last/,
    ],
    [
      'too little image data',
      handMade(deflateSync(FILTERED.subarray(0, 21))),
      /image data is 21 bytes, expected 28/,
    ],
    [
      'an unknown filter type',
      handMade(deflateSync(Buffer.from([5, ...FILTERED.subarray(1)]))),
      /unknown filter type 5 on row 0/,
    ],
    ['a wrong signature', Buffer.concat([Buffer.from('GIF89a..'), ihdr(2, 4)]), /not a PNG signature/],
  ])('refuses %s', (_name, png, message) => {
    expect(() => readPng(png)).toThrow(message);
  });
});
