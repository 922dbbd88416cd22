import { describe, expect, it } from 'vitest';
import { settleMs } from '../../src/core/repair/execute.js';
import type { Report } from '../../src/core/report.js';

const config = (nodeTimeoutMs: number | null): Report['config'][number] => ({
  address: '10.0.0.1:6379',
  requireFullCoverage: true,
  allowReadsWhenDown: false,
  nodeTimeoutMs,
  unavailable: nodeTimeoutMs === null ? 'NOPERM' : null,
});

describe('how long a repair waits for the nodes to agree after a step', () => {
  it.each([
    ['read on every node', [config(2000), config(2000)], 8000],
    ['the longest of several', [config(2000), config(15_000)], 60_000],
    ['never under 5 s', [config(500)], 5000],
    ["refused by an ACL on every node: Redis's default, never 0", [config(null), config(null)], 60_000],
    ['refused on one node, short on the others', [config(null), config(2000)], 60_000],
    ['no node read at all', [], 60_000],
  ])('%s', (_name, nodes, expected) => {
    expect(settleMs({ config: nodes })).toBe(expected);
  });
});
