import type { Report } from '../core/report.js';
import { SLOT_COUNT, slotsIn } from '../core/slot-ranges.js';
import { drawable, drawText } from './font.js';
import { Raster } from './png.js';

type Rgb = readonly [number, number, number];

export const COLORS = {
  unassigned: [220, 38, 38] as Rgb,
  ownerFailed: [127, 29, 29] as Rgb,
  unreachable: [249, 115, 22] as Rgb,
  open: [234, 179, 8] as Rgb,
  text: [17, 24, 39] as Rgb,
};

/** Calm blues, greens and violets for the live masters, so that red, orange and yellow mean trouble. */
export const OWNER_PALETTE: readonly Rgb[] = [
  [37, 99, 235],
  [22, 163, 74],
  [8, 145, 178],
  [79, 70, 229],
  [13, 148, 136],
  [2, 132, 199],
  [124, 58, 237],
  [21, 94, 117],
];

export const CELL = 4;
export const GRID = 128;
/** A strip right of the grid and one below it: a marker beside every row and under every column with trouble. */
export const MARKER_STRIP = 16;
const LEGEND = 92;
export const WIDTH = GRID * CELL + MARKER_STRIP;
export const HEIGHT = GRID * CELL + MARKER_STRIP + LEGEND;
/** The caption, in drawable letters only, fits the width at 12 pixels a character. */
export const CAPTION_MAX = Math.floor((WIDTH - 12) / 12);

/** Top-left corner of legend entry `i` (three to a row). */
export const legendBox = (i: number): [number, number] => [
  6 + (i % 3) * 174,
  GRID * CELL + MARKER_STRIP + 6 + Math.floor(i / 3) * 24,
];

/** Where slot `slot` is drawn: row-major over a 128x128 grid. */
export const cellOrigin = (slot: number): [number, number] => [
  (slot % GRID) * CELL,
  Math.floor(slot / GRID) * CELL,
];

/** How much a trouble colour matters when several share a row or column marker. */
const RANK: readonly Rgb[] = [COLORS.ownerFailed, COLORS.unassigned, COLORS.unreachable, COLORS.open];
const worst = (a: Rgb | undefined, b: Rgb): Rgb => (a && RANK.indexOf(a) <= RANK.indexOf(b) ? a : b);

/** The caption's two lines with every character drawable (others become `?`), each cut to fit the width. */
export function caption(report: Report, cluster: string): [string, string] {
  const name = [...cluster].map((c) => (drawable(c) ? c : '?')).join('');
  const fitted = name.length <= CAPTION_MAX ? name : `${name.slice(0, CAPTION_MAX - 2)}..`;
  const when = `${report.slots.covered}/${SLOT_COUNT} served ${report.probedAt.slice(0, 16).replace('T', ' ')} UTC`;
  return [fitted, when];
}

/**
 * A PNG of all 16384 slots coloured by owner and state, with a legend. People see a gap faster than they read
 * one; a marker beside its row and under its column keeps a gap of one slot visible.
 */
export function slotMapPng(report: Report, cluster: string): Buffer {
  const raster = new Raster(WIDTH, HEIGHT);
  const color = new Array<Rgb>(SLOT_COUNT).fill(COLORS.unassigned);
  const masters = report.nodes.filter((n) => n.slots.length > 0);
  masters.forEach((node, i) => {
    const rgb = OWNER_PALETTE[i % OWNER_PALETTE.length] as Rgb;
    for (const slot of slotsIn(node.slots)) color[slot] = rgb;
  });
  const trouble = new Set<number>();
  for (const gap of report.slots.gaps) {
    const rgb =
      gap.reason === 'unassigned'
        ? COLORS.unassigned
        : gap.reason === 'owner-failed'
          ? COLORS.ownerFailed
          : COLORS.unreachable;
    for (let slot = gap.start; slot <= gap.end; slot++) {
      color[slot] = rgb;
      trouble.add(slot);
    }
  }
  for (const open of report.openSlots) {
    color[open.slot] = COLORS.open;
    trouble.add(open.slot);
  }
  color.forEach((rgb, slot) => {
    const [x, y] = cellOrigin(slot);
    raster.rect(x, y, CELL, CELL, rgb);
  });
  const rows = new Map<number, Rgb>();
  const columns = new Map<number, Rgb>();
  for (const slot of trouble) {
    const rgb = color[slot] as Rgb;
    rows.set(Math.floor(slot / GRID), worst(rows.get(Math.floor(slot / GRID)), rgb));
    columns.set(slot % GRID, worst(columns.get(slot % GRID), rgb));
  }
  // Drawn from the mildest to the worst, so that where markers overlap the worst one shows.
  const byRank = (a: [number, Rgb], b: [number, Rgb]) => RANK.indexOf(b[1]) - RANK.indexOf(a[1]);
  for (const [row, rgb] of [...rows].sort(byRank))
    raster.rect(GRID * CELL + 3, row * CELL - 3, MARKER_STRIP - 5, CELL + 6, rgb);
  for (const [column, rgb] of [...columns].sort(byRank))
    raster.rect(column * CELL - 3, GRID * CELL + 3, CELL + 6, MARKER_STRIP - 5, rgb);
  const used = OWNER_PALETTE.slice(0, Math.max(1, Math.min(masters.length, OWNER_PALETTE.length)));
  const entries: [string, readonly Rgb[]][] = [
    ['served', used],
    ['unassigned', [COLORS.unassigned]],
    ['owner failed', [COLORS.ownerFailed]],
    ['unreachable', [COLORS.unreachable]],
    ['open slot', [COLORS.open]],
  ];
  entries.forEach(([label, colours], i) => {
    const [x, y] = legendBox(i);
    // The served swatch shows every master colour the grid uses, side by side.
    const stripe = Math.max(2, Math.floor(16 / colours.length));
    colours.forEach((rgb, k) => {
      raster.rect(x + k * stripe, y, stripe, 14, rgb);
    });
    drawText(raster, label, x + colours.length * stripe + 6, y, COLORS.text);
  });
  const [name, when] = caption(report, cluster);
  drawText(raster, name, 6, legendBox(5)[1] + 24, COLORS.text);
  drawText(raster, when, 6, legendBox(5)[1] + 42, COLORS.text);
  return raster.toPng();
}
