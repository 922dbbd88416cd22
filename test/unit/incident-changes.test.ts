import { describe, expect, it } from 'vitest';
import { diffSignatures } from '../../src/jobs/incident-changes.js';
import { changeText } from '../../src/slack/incident-poster.js';

const tick = { cluster: 'prod', source: 'monitor', status: 'tick', summary: 'monitor tick' } as const;
const reply = (before: string[], after: string[]) =>
  changeText({ trigger: tick, ...diffSignatures(before, after) });

describe('thread replies about a change', () => {
  it('reads an unreachable owner confirmed failed as worse: the same gap, never new plus cleared', () => {
    const text = reply(
      ['cluster_state ok', 'gap 0-5460 owner-unreachable', 'node 10.0.0.1:6379 unreachable'],
      ['cluster_state fail', 'gap 0-5460 owner-failed', 'node 10.0.0.1:6379 FAIL'],
    );

    expect(text.split('\n')).toEqual([
      ':small_red_triangle_down: *Worse* (seen by the monitor)',
      '• :small_red_triangle_down: worse: cluster_state was ok, now *fail* (nodes now answer CLUSTERDOWN)',
      '• :small_red_triangle_down: worse: gap 0-5460 was owner-unreachable, now *owner-failed* (the same gap, its owner now confirmed failed)',
      '• :small_red_triangle_down: worse: node 10.0.0.1:6379 was unreachable, now *FAIL* (the same node, now confirmed failed by the cluster)',
    ]);
  });

  it.each([
    [
      'grows',
      ['gap 0-99 owner-failed'],
      ['gap 0-199 owner-failed'],
      ':small_red_triangle_down: *Worse*',
      'grew',
    ],
    ['shrinks', ['gap 0-199 unassigned'], ['gap 100-199 unassigned'], ':arrow_up: *Better*', 'shrank'],
  ])('reads a gap that %s as one gap', (_name, before, after, head, how) => {
    const text = reply(before, after);

    expect(text.startsWith(head)).toBe(true);
    expect(text).toContain(`the gap ${how} from ${before[0]?.slice(4)} to *${after[0]?.slice(4)}*`);
    expect(text).not.toMatch(/new:|cleared:/);
  });

  it('says "Changed" when one thing got better and another worse, and "Better" when a node is cleared', () => {
    expect(reply(['gap 0-9 unassigned'], ['node 10.0.0.2:6379 FAIL'])).toMatch(
      /^:arrows_counterclockwise: \*Changed\*/,
    );
    expect(reply(['node 10.0.0.2:6379 FAIL', 'gap 0-9 unassigned'], ['gap 0-9 unassigned'])).toMatch(
      /^:arrow_up: \*Better\*[^\n]*\n• cleared: node 10.0.0.2:6379 FAIL$/,
    );
  });
});
