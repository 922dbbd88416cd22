import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report.js';
import { drawable, drawText } from '../../src/render/font.js';
import { Raster } from '../../src/render/png.js';
import { caption, slotMapPng } from '../../src/render/slot-map.js';
import { type DecodedPng, readPng } from '../support/png-reader.js';
import { masterReport } from '../support/report-fixtures.js';

// What the map promises, written here rather than read from src: 4x4 pixels a slot, 128 slots a row.
const RED = [220, 38, 38];
const DARK_RED = [127, 29, 29];
const ORANGE = [249, 115, 22];
const YELLOW = [234, 179, 8];
const WHITE = [255, 255, 255];
const TEXT = [17, 24, 39];
const TROUBLE = [RED, DARK_RED, ORANGE, YELLOW];

/** The 16 pixels of slot `slot`'s cell. */
const cell = (image: DecodedPng, slot: number) =>
  Array.from({ length: 16 }, (_, i) =>
    image.at((slot % 128) * 4 + (i % 4), Math.floor(slot / 128) * 4 + Math.floor(i / 4)),
  );

/** The one colour of a cell, or a list of what is in it when the cell is not one colour. */
function colourOf(image: DecodedPng, slot: number): number[] | string {
  const pixels = cell(image, slot).map((p) => p.join(','));
  return new Set(pixels).size === 1
    ? (cell(image, slot)[0] ?? [])
    : `slot ${slot} mixes ${[...new Set(pixels)].join(' | ')}`;
}

/** Every pixel in the rectangle, as "r,g,b" strings without repeats. */
function coloursIn(image: DecodedPng, x: number, y: number, w: number, h: number): Set<string> {
  const seen = new Set<string>();
  for (let row = y; row < y + h; row++)
    for (let col = x; col < x + w; col++) seen.add(image.at(col, row).join(','));
  return seen;
}

const id = (n: number) => String(n).repeat(40);
const node = (n: number, slots: [number, number][]) =>
  masterReport({
    id: id(n),
    address: `10.0.0.${n}:6379`,
    slots,
    configEpoch: n,
    replicationOffset: 0,
  });

const report: Report = {
  state: 'fail',
  probedAt: '2026-11-25T22:00:00.000Z',
  durationMs: 10,
  seeds: ['10.0.0.1:6379'],
  slots: {
    covered: 10823,
    uncovered: 5561,
    gaps: [
      { start: 0, end: 5460, reason: 'owner-failed', owner: id(1), keys: null },
      { start: 6000, end: 6099, reason: 'unassigned', owner: null, keys: 25 },
    ],
  },
  movingSlots: [],
  slotClaims: [],
  openSlots: [
    {
      slot: 9000,
      state: 'migrating',
      node: id(2),
      peer: id(3),
      nodeRole: 'master',
      nodeKeys: 1,
      peerKeys: 1,
      live: false,
    },
  ],
  nodes: [
    node(1, [[0, 5460]]),
    node(2, [
      [5461, 5999],
      [6100, 10921],
    ]),
    node(3, [[10922, 16383]]),
  ],
  findings: [],
  config: [],
  keyCounts: [],
  countedSlots: [],
  currentEpoch: 3,
};

const paint = (report: Report, cluster = 'prod') => readPng(slotMapPng(report, cluster));

/** Geometry the map promises: a 512 px grid, a 16 px marker strip right of it and below it, the legend under that. */
const GRID_PX = 512;
const STRIP = 16;
const swatch = (i: number) => [6 + (i % 3) * 174, GRID_PX + STRIP + 6 + Math.floor(i / 3) * 24] as const;
const key = (rgb: number[]) => rgb.join(',');

describe('slotMapPng', () => {
  it('is a valid 528x620 RGB PNG: a 128x128 grid of 4-pixel cells, marker strips and a legend', () => {
    const png = slotMapPng(report, 'prod');
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/slot-map.png', png);

    const image = readPng(png);

    expect([image.width, image.height, image.channels]).toEqual([528, 620, 3]);
  });

  it('colours every slot by what happened to it, one colour a cell', () => {
    const image = paint(report);

    const byColour = new Map<string, number[]>();
    for (let slot = 0; slot < 16384; slot++) {
      const colour = colourOf(image, slot);
      const k = typeof colour === 'string' ? colour : key(colour);
      byColour.set(k, [...(byColour.get(k) ?? []), slot]);
    }

    const slotsOf = (rgb: number[]) => byColour.get(key(rgb)) ?? [];
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(slotsOf(DARK_RED)).toEqual(range(0, 5460));
    expect(slotsOf(RED)).toEqual(range(6000, 6099));
    expect(slotsOf(YELLOW)).toEqual([9000]);
    const served = [...byColour.entries()].filter(([rgb]) => !TROUBLE.some((t) => key(t) === rgb));
    expect(served.map(([, slots]) => [slots[0], slots.at(-1), slots.length])).toEqual([
      [5461, 10921, 5360], // 5461-5999 and 6100-10921 but the open slot 9000
      [10922, 16383, 5462],
    ]);
    expect(served.map(([rgb]) => rgb)).not.toContain(key(WHITE));
  });

  it('colours slots whose owner cannot be reached orange', () => {
    const unreachable: Report = {
      ...report,
      slots: {
        ...report.slots,
        gaps: [{ start: 10922, end: 16383, reason: 'owner-unreachable', owner: id(3), keys: null }],
      },
      openSlots: [],
    };

    const image = paint(unreachable);

    expect([10922, 13000, 16383].map((slot) => colourOf(image, slot))).toEqual([ORANGE, ORANGE, ORANGE]);
    expect(colourOf(image, 10921)).not.toEqual(ORANGE);
  });

  it('shows every colour of the grid in the legend, each trouble colour in its own labelled swatch', () => {
    const image = paint(report);

    const grid = coloursIn(image, 0, 0, GRID_PX, GRID_PX);
    const swatches = [0, 1, 2, 3, 4].map((i) => coloursIn(image, swatch(i)[0], swatch(i)[1], 14, 14));
    const labelled = [0, 1, 2, 3, 4].map((i) => {
      const [x, y] = swatch(i);
      return coloursIn(image, x + 22, y, 100, 14).has(key(TEXT));
    });
    const legend = new Set(swatches.flatMap((s) => [...s]));
    expect([...grid].filter((c) => !legend.has(c))).toEqual([]);
    expect(swatches.slice(1).map((s) => [...s])).toEqual(TROUBLE.map((rgb) => [key(rgb)]));
    expect([...(swatches[0] ?? [])].filter((c) => TROUBLE.some((t) => key(t) === c))).toEqual([]);
    expect(swatches[0]?.size).toBe(3);
    expect(labelled).toEqual([true, true, true, true, true]);
  });

  it.each([
    [0, 'unassigned', RED],
    [5000, 'owner-failed', DARK_RED],
    [16383, 'owner-unreachable', ORANGE],
  ] as const)(
    'keeps a one-slot gap at slot %i (%s) visible with markers beside its row and under its column',
    (slot, reason, rgb) => {
      const one: Report = {
        ...report,
        slots: {
          covered: 16383,
          uncovered: 1,
          gaps: [{ start: slot, end: slot, reason, owner: null, keys: 0 }],
        },
        openSlots: [],
      };

      const image = paint(one);

      const [row, column] = [Math.floor(slot / 128), slot % 128];
      // At least 8 pixels of marker across the cell's row (and column), where the grid is.
      const from = (n: number) => Math.max(0, n * 4 - 2);
      const to = (n: number) => Math.min(511, n * 4 + 5);
      const rowMarker = coloursIn(image, GRID_PX + 3, from(row), 10, to(row) - from(row) + 1);
      const columnMarker = coloursIn(image, from(column), GRID_PX + 3, to(column) - from(column) + 1, 10);
      expect(colourOf(image, slot)).toEqual(rgb);
      expect(rowMarker).toEqual(new Set([key(rgb)]));
      expect(columnMarker).toEqual(new Set([key(rgb)]));
      // Nothing else is marked: the strips are white but for this one marker.
      const strip = coloursIn(image, GRID_PX, 0, STRIP, GRID_PX);
      expect(strip).toEqual(new Set([key(WHITE), key(rgb)]));
    },
  );

  it('marks a row with its worst trouble when several kinds share it', () => {
    const mixed: Report = {
      ...report,
      slots: {
        covered: 16382,
        uncovered: 2,
        gaps: [
          { start: 130, end: 130, reason: 'owner-unreachable', owner: null, keys: null },
          { start: 200, end: 200, reason: 'owner-failed', owner: null, keys: null },
        ],
      },
      openSlots: [],
    };

    const image = paint(mixed);

    expect(image.at(GRID_PX + 8, 1 * 4 + 1)).toEqual(DARK_RED);
  });
});

describe('the caption', () => {
  it('draws every printable ASCII character with a glyph of its own', () => {
    const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i));

    const missing = printable.filter((c) => !drawable(c));
    const blank = printable.filter((c) => {
      const raster = new Raster(12, 14);
      drawText(raster, c, 0, 0, [0, 0, 0]);
      return !raster.pixels.includes(0);
    });

    expect(missing).toEqual([]);
    expect(blank).toEqual([]);
  });

  it('keeps only drawable characters and fits the image width', () => {
    const [name, when] = caption(report, `eu-west_1 (jqxz) ✓ ${'x'.repeat(60)}`);

    expect([...name, ...when].every(drawable)).toBe(true);
    expect(Math.max(name.length, when.length) * 12).toBeLessThanOrEqual(528 - 6);
    expect(name.startsWith('eu-west_1 (jqxz) ? xxx')).toBe(true);
    expect(name.endsWith('x..')).toBe(true);
    expect(when).toBe('10823/16384 served 2026-11-25 22:00 UTC');
  });
});
