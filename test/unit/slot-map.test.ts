import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/core/report.js';
import { slotMapPng } from '../../src/render/slot-map.js';
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

const paint = (report: Report) => readPng(slotMapPng(report, 'prod'));

describe('slotMapPng', () => {
  it('is a valid 512x604 RGB PNG: a 128x128 grid of 4-pixel cells and a legend below', () => {
    const png = slotMapPng(report, 'prod');
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/slot-map.png', png);

    const image = readPng(png);

    expect([image.width, image.height, image.channels]).toEqual([512, 604, 3]);
  });

  it('colours every slot by what happened to it, one colour a cell', () => {
    const image = paint(report);

    const byColour = new Map<string, number[]>();
    for (let slot = 0; slot < 16384; slot++) {
      const colour = colourOf(image, slot);
      const key = typeof colour === 'string' ? colour : colour.join(',');
      byColour.set(key, [...(byColour.get(key) ?? []), slot]);
    }

    const slotsOf = (rgb: number[]) => byColour.get(rgb.join(',')) ?? [];
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(slotsOf(DARK_RED)).toEqual(range(0, 5460));
    expect(slotsOf(RED)).toEqual(range(6000, 6099));
    expect(slotsOf(YELLOW)).toEqual([9000]);
    const served = [...byColour.entries()].filter(([rgb]) => !TROUBLE.some((t) => t.join(',') === rgb));
    expect(served.map(([, slots]) => [slots[0], slots.at(-1), slots.length])).toEqual([
      [5461, 10921, 5360], // 5461-5999 and 6100-10921 but the open slot 9000
      [10922, 16383, 5462],
    ]);
    expect(served.map(([rgb]) => rgb)).not.toContain(WHITE.join(','));
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

  it('draws a legend swatch and its label for each state under the grid', () => {
    const image = paint(report);

    // Swatches are 14x14 from (6 + 170 * column, 520 + 24 * row), three to a row; labels start 20 px right.
    const swatch = (i: number) => [6 + (i % 3) * 170, 520 + Math.floor(i / 3) * 24] as const;
    const legend = [RED, DARK_RED, ORANGE, YELLOW].map((_, i) => {
      const [x, y] = swatch(i + 1);
      return {
        fill: [...coloursIn(image, x, y, 14, 14)],
        label: coloursIn(image, x + 20, y, 100, 14).has(TEXT.join(',')),
      };
    });
    expect(legend).toEqual(TROUBLE.map((rgb) => ({ fill: [rgb.join(',')], label: true })));
    expect([...TROUBLE, WHITE]).not.toContainEqual(image.at(...swatch(0)));
    expect(coloursIn(image, 0, 512, 512, 92)).toEqual(
      new Set([WHITE, TEXT, ...TROUBLE, image.at(...swatch(0))].map((c) => c.join(','))),
    );
  });
});
