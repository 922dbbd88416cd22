import { err, ok, type ParseError, parseError, type Result } from './result.js';

export const SLOT_COUNT = 16384;
export const MAX_SLOT = SLOT_COUNT - 1;

/** An inclusive range of hash slots, `[start, end]`. */
export type SlotRange = readonly [start: number, end: number];

export const isSlot = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_SLOT;

/** Distinct slots in ascending order; an array that already is one is used as it is. */
function ascending(slots: Iterable<number>): readonly number[] {
  if (Array.isArray(slots)) {
    let strictly = true;
    for (let i = 1; i < slots.length && strictly; i++) strictly = slots[i - 1] < slots[i];
    if (strictly) return slots;
  }
  return [...new Set(slots)].sort((a, b) => a - b);
}

/** Merges any list of slots into sorted, non-overlapping, non-adjacent ranges. */
export function rangesFromSlots(slots: Iterable<number>): SlotRange[] {
  const sorted = ascending(slots);
  const ranges: SlotRange[] = [];
  let start = -1;
  let prev = -2;
  for (const slot of sorted) {
    if (slot !== prev + 1) {
      if (start >= 0) ranges.push([start, prev]);
      start = slot;
    }
    prev = slot;
  }
  if (start >= 0) ranges.push([start, prev]);
  return ranges;
}

/** Normalises overlapping or adjacent ranges into the canonical form. */
export function mergeRanges(ranges: Iterable<SlotRange>): SlotRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = merged.at(-1);
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

export function* slotsIn(ranges: Iterable<SlotRange>): Generator<number> {
  for (const [start, end] of ranges) for (let slot = start; slot <= end; slot++) yield slot;
}

export const countSlots = (ranges: Iterable<SlotRange>): number => {
  let total = 0;
  for (const [start, end] of ranges) total += end - start + 1;
  return total;
};

export const formatRange = ([start, end]: SlotRange): string =>
  start === end ? `${start}` : `${start}-${end}`;

/** `0-5460,5462,6000-6001`; long lists end in "… (+N more)". */
export function formatRanges(ranges: readonly SlotRange[], max = Number.POSITIVE_INFINITY): string {
  if (ranges.length === 0) return 'none';
  const shown = ranges.slice(0, max).map(formatRange).join(',');
  return ranges.length > max ? `${shown} … (+${ranges.length - max} more ranges)` : shown;
}

/** Parses `5`, `0-5460` or a comma list of those. */
export function parseRanges(text: string): Result<SlotRange[], ParseError> {
  const ranges: SlotRange[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    const start = Number(match?.[1]);
    const end = match?.[2] === undefined ? start : Number(match[2]);
    if (!match || !isSlot(start) || !isSlot(end) || end < start) {
      return err(parseError('slot-range', 1, `"${part}" is not a slot or slot range (0-${MAX_SLOT})`, text));
    }
    ranges.push([start, end]);
  }
  return ok(mergeRanges(ranges));
}
