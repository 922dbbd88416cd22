import type { Report } from '../core/report.js';
import { SLOT_COUNT, slotsIn } from '../core/slot-ranges.js';
import { drawText } from './font.js';
import { Raster } from './png.js';

type Rgb = readonly [number, number, number];

export const COLORS = {
  gap: [220, 38, 38] as Rgb,
  ownerFailed: [127, 29, 29] as Rgb,
  unreachable: [249, 115, 22] as Rgb,
  open: [234, 179, 8] as Rgb,
  text: [17, 24, 39] as Rgb,
};

/** Calm blues and greens for the live masters, so that red, orange and yellow mean trouble. */
const OWNER_PALETTE: readonly Rgb[] = [
  [37, 99, 235],
  [22, 163, 74],
  [8, 145, 178],
  [79, 70, 229],
  [13, 148, 136],
  [101, 163, 13],
  [2, 132, 199],
  [124, 58, 237],
];

export const CELL = 4;
export const GRID = 128;
const LEGEND = 92;

/** Top-left corner of legend entry `i` (three to a row). */
export const legendBox = (i: number): [number, number] => [
  6 + (i % 3) * 170,
  GRID * CELL + 8 + Math.floor(i / 3) * 24,
];

/** Where slot `slot` is drawn: row-major over a 128x128 grid. */
export const cellOrigin = (slot: number): [number, number] => [
  (slot % GRID) * CELL,
  Math.floor(slot / GRID) * CELL,
];

/** A PNG of all 16384 slots coloured by owner and state, with a legend. People see a gap faster than they read one. */
export function slotMapPng(report: Report, cluster: string): Buffer {
  const raster = new Raster(GRID * CELL, GRID * CELL + LEGEND);
  const color = new Array<Rgb>(SLOT_COUNT).fill(COLORS.gap);
  const masters = report.nodes.filter((n) => n.slots.length > 0);
  masters.forEach((node, i) => {
    const rgb = OWNER_PALETTE[i % OWNER_PALETTE.length] as Rgb;
    for (const slot of slotsIn(node.slots)) color[slot] = rgb;
  });
  for (const gap of report.slots.gaps) {
    const rgb =
      gap.reason === 'unassigned'
        ? COLORS.gap
        : gap.reason === 'owner-failed'
          ? COLORS.ownerFailed
          : COLORS.unreachable;
    for (let slot = gap.start; slot <= gap.end; slot++) color[slot] = rgb;
  }
  for (const open of report.openSlots) color[open.slot] = COLORS.open;
  color.forEach((rgb, slot) => {
    const [x, y] = cellOrigin(slot);
    raster.rect(x, y, CELL, CELL, rgb);
  });
  const top = GRID * CELL + 8;
  const entries: [string, Rgb][] = [
    ['served', OWNER_PALETTE[0] as Rgb],
    ['gap', COLORS.gap],
    ['owner failed', COLORS.ownerFailed],
    ['unreachable', COLORS.unreachable],
    ['open', COLORS.open],
  ];
  entries.forEach(([label, rgb], i) => {
    const [x, y] = legendBox(i);
    raster.rect(x, y, 14, 14, rgb);
    drawText(raster, label, x + 20, y, COLORS.text);
  });
  const caption = `${cluster} ${report.slots.covered}/${SLOT_COUNT} ${report.probedAt.slice(0, 16).replace('T', ' ')}`;
  drawText(raster, caption, 6, top + 56, COLORS.text);
  return raster.toPng();
}
