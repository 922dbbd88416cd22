import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/core/key-slot.js';
import {
  countSlots,
  formatRanges,
  mergeRanges,
  parseRanges,
  rangesFromSlots,
  type SlotRange,
  slotsIn,
} from '../../src/core/slot-ranges.js';

const slot = fc.integer({ min: 0, max: 16383 });
const range = fc.tuple(slot, slot).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as SlotRange);

describe('slot ranges', () => {
  it('merges slots into sorted, disjoint, non-adjacent ranges that hold exactly those slots', () => {
    fc.assert(
      fc.property(fc.array(slot, { maxLength: 400 }), (slots) => {
        const ranges = rangesFromSlots(slots);
        expect(new Set(slotsIn(ranges))).toEqual(new Set(slots));
        expect(countSlots(ranges)).toBe(new Set(slots).size);
        for (let i = 1; i < ranges.length; i++)
          expect((ranges[i] as SlotRange)[0]).toBeGreaterThan((ranges[i - 1] as SlotRange)[1] + 1);
      }),
    );
  });

  it('normalises overlapping ranges to the same form as their slots', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 20 }), (ranges) => {
        expect(mergeRanges(ranges)).toEqual(rangesFromSlots(slotsIn(ranges)));
      }),
      { numRuns: 200 },
    );
  });

  it('formats and parses back the same ranges', () => {
    fc.assert(
      fc.property(fc.array(slot, { minLength: 1, maxLength: 200 }), (slots) => {
        const ranges = rangesFromSlots(slots);
        const parsed = parseRanges(formatRanges(ranges));
        expect(parsed.ok && parsed.value).toEqual(ranges);
      }),
    );
  });

  it('shortens long lists', () => {
    expect(
      formatRanges(
        [
          [0, 1],
          [3, 3],
          [5, 9],
        ],
        2,
      ),
    ).toBe('0-1,3 … (+1 more ranges)');
    expect(formatRanges([])).toBe('none');
  });

  it.each(['16384', '5-3', 'a', '1,,2', '-1'])('rejects %j', (text) => {
    expect(parseRanges(text).ok).toBe(false);
  });
});

// Captured from `CLUSTER KEYSLOT` on redis-server 7.0.15 started with --cluster-enabled yes.
describe('keySlot', () => {
  it.each([
    ['', 0],
    ['123456789', 12739],
    ['foo', 12182],
    ['redis', 1151],
    ['slotwatch:lock:prod', 14581],
    ['user1000', 3443],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['foo{bar}{zap}', 5061],
    ['{a}', 15495],
    ['{}', 15257],
    ['{}.x', 7237],
    ['a{}', 6082],
    ['foo{}{bar}', 8363],
    ['{}{x}', 3257],
    ['{{}}', 4092],
    ['foo{{bar}}zap', 4015],
    ['{bar', 4015],
    ['bar}', 6624],
    ['}{', 12793],
    ['a{b}c{', 3300],
    ['clé', 3008],
    ['{clé}:1', 3008],
    ['键', 16043],
    ['ключ', 10303],
    ['🔑', 3314],
    ['x{🔑}y', 3314],
  ])('puts %j in slot %i like CLUSTER KEYSLOT', (key, expected) => {
    expect(keySlot(key)).toBe(expected);
  });

  it.each([
    [[0xff, 0xfe, 0x80], 11813],
    [[0x61, 0x7b, 0xc3, 0x7d, 0x62], 10543],
    [[0x61, 0x00, 0x62], 8383],
  ])('puts the binary key %j in slot %i like CLUSTER KEYSLOT', (bytes, expected) => {
    expect(keySlot(Uint8Array.from(bytes))).toBe(expected);
  });
});
