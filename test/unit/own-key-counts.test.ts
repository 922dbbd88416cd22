import { describe, expect, it } from 'vitest';
import { parseOwnCounts } from '../../src/core/own-key-counts.js';

describe('parseOwnCounts (the key counts a master sends with its probe)', () => {
  it('reads DBSIZE, the ranges counted and the non-zero counts', () => {
    const parsed = parseOwnCounts([12, 2, 0, 9, 100, 100, 3, 7, 100, 5]);
    expect(parsed?.dbsize).toBe(12);
    expect(parsed?.counted.members()).toEqual([...Array.from({ length: 10 }, (_, i) => i), 100]);
    expect([...(parsed?.counts ?? [])]).toEqual([
      [3, 7],
      [100, 5],
    ]);
  });

  it('takes an empty node as knowing every slot holds nothing', () => {
    const parsed = parseOwnCounts([0, 0]);
    expect(parsed?.counted.missing()).toEqual([]);
    expect(parsed?.counts.size).toBe(0);
  });

  it('given the ranges it asked for, refuses a reply that counted other ones (a node answering for slots it was not asked)', () => {
    const reply = [12, 2, 0, 9, 100, 100, 3, 7, 100, 5];
    expect(
      parseOwnCounts(reply, [
        [0, 9],
        [100, 100],
      ])?.counts.get(3),
    ).toBe(7);
    expect(parseOwnCounts(reply, [[0, 9]])).toBeNull();
    expect(parseOwnCounts(reply, [[0, 16383]])).toBeNull();
    expect(
      parseOwnCounts(reply, [
        [100, 100],
        [0, 9],
      ]),
    ).toBeNull();
    // An empty node echoes nothing and knows every slot holds no key.
    expect(parseOwnCounts([0, 0], [[0, 9]])?.counted.missing()).toEqual([]);
  });

  it.each([
    ['not an array', 'OK'],
    ['too short', [5]],
    ['a negative size', [-1, 0]],
    ['more ranges than sent', [5, 3, 0, 1]],
    ['a slot past 16383', [5, 1, 0, 16384]],
    ['a range backwards', [5, 1, 10, 2]],
    ['a count for a slot it did not count', [5, 1, 0, 9, 50, 5]],
    ['a dangling slot without count', [5, 1, 0, 9, 3]],
    ['a text where a number belongs', [5, 1, 0, '9']],
    ['a fractional count', [5, 1, 0, 9, 3, 1.5]],
  ])('refuses %s (the counts are then read the ordinary way)', (_, reply) => {
    expect(parseOwnCounts(reply)).toBeNull();
  });
});
