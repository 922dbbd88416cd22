import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import { consensusOwners, IdIndex, OwnerTables } from '../../src/core/owner-tables.js';

const id = (n: number) => n.toString(16).padStart(40, '0');
const line = (n: number, slots: string, self = false) =>
  `${id(n)} 127.0.0.1:${7000 + n}@${17000 + n} ${self ? 'myself,' : ''}master - 0 ${n} 1 connected ${slots}`.trim();
const lines = (...all: string[]) => {
  const parsed = parseClusterNodes(all.join('\n'));
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

describe('OwnerTables', () => {
  it('shares one table between views that give every node the same slots, in any order', () => {
    const tables = new OwnerTables(new IdIndex());
    const a = tables.of(lines(line(1, '0-8191', true), line(2, '8192-16383')));
    const b = tables.of(lines(line(2, '8192-16383', true), line(1, '0-8191')));

    expect(b).toBe(a);
    expect(tables.distinct.map((t) => t.weight)).toEqual([2]);
  });

  it('keeps a table per view when a view names two owners for one slot, its last line winning', () => {
    const ids = new IdIndex();
    const tables = new OwnerTables(ids);
    const a = tables.of(lines(line(1, '0-100', true), line(2, '50-16383')));
    const b = tables.of(lines(line(2, '50-16383', true), line(1, '0-100')));

    expect(b).not.toBe(a);
    expect(ids.ids[a[60] ?? -1]).toBe(id(2));
    expect(ids.ids[b[60] ?? -1]).toBe(id(1));
  });

  it('names the owner most views name, and on a tie the higher config epoch', () => {
    const ids = new IdIndex();
    const tables = new OwnerTables(ids);
    tables.of(lines(line(1, '0-16383', true), line(2, '')));
    tables.of(lines(line(2, '0-16383', true), line(1, '')));
    const tie = consensusOwners(tables.distinct, [1, 5]);
    tables.of(lines(line(3, '', true), line(1, '0-16383'), line(2, '')));
    const majority = consensusOwners(tables.distinct, [1, 5, 0]);

    expect(ids.ids[tie[0] ?? -1]).toBe(id(2));
    expect(ids.ids[majority[0] ?? -1]).toBe(id(1));
  });
});
