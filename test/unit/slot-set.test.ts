import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlotSet } from '../../src/core/slot-set.js';

const slots = fc.array(fc.integer({ min: 0, max: 16383 }), { maxLength: 300 });
const ascending = (values: Iterable<number>) => [...new Set(values)].sort((a, b) => a - b);

describe('SlotSet', () => {
  it('holds exactly the slots added, and misses every other one', () => {
    fc.assert(
      fc.property(slots, (added) => {
        const set = SlotSet.of(added);
        const members = set.members();

        expect(members).toEqual(ascending(added));
        expect(set.missing()).toHaveLength(16384 - members.length);
        expect(added.every((slot) => set.has(slot))).toBe(true);
      }),
    );
  });

  it('intersects with any number of sets', () => {
    fc.assert(
      fc.property(slots, fc.array(slots, { maxLength: 4 }), (first, others) => {
        const expected = ascending(first).filter((slot) => others.every((o) => o.includes(slot)));

        expect(SlotSet.of(first).intersect(others.map((o) => SlotSet.of(o)))).toEqual(expected);
      }),
    );
  });

  it('ignores slots out of range', () => {
    const set = SlotSet.of([-1, 16384, 5]);

    expect(set.members()).toEqual([5]);
    expect(set.has(16384)).toBe(false);
    expect(SlotSet.all().members()).toHaveLength(16384);
  });
});
