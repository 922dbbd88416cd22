import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/core/analyze.js';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import type { NodeView } from '../../src/core/probe.js';
import { buildTopology } from '../../src/core/topology.js';
import { deadView, type FakeNode, fakeId, fakeView, noCounts, nodesText } from '../support/synthetic.js';

const A = fakeId(1);
const B = fakeId(2);
const cluster: FakeNode[] = [
  { id: A, port: 7000, role: 'master', slots: '0-8191', epoch: 1 },
  { id: B, port: 7001, role: 'master', slots: '8192-16383', epoch: 2 },
];

function report(views: NodeView[], discovery?: { maxNodes: number; skipped: number }) {
  return analyze({
    seeds: ['127.0.0.1:7000'],
    views,
    topology: buildTopology(views),
    counts: noCounts(),
    disagreements: [],
    startedAt: 0,
    finishedAt: 5,
    ...(discovery ? { discovery } : {}),
  });
}

function unreadable(address: string, text: string): NodeView {
  const parsed = parseClusterNodes(text);
  if (parsed.ok) throw new Error('expected garbage');
  return { ...deadView(address), reachable: true, error: null, parseErrors: [parsed.error] };
}

describe('reply findings', () => {
  it('fails a fully covered cluster while one reachable view is unreadable and lists that node', () => {
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      unreadable('127.0.0.1:7001', `garbage ${'x'.repeat(300)}`),
    ];

    const result = report(views);

    expect(result.state).toBe('fail');
    expect(result.slots.covered).toBe(16384);
    const [finding] = result.findings.filter((f) => f.code === 'REPLY_UNPARSEABLE');
    expect(finding?.nodes).toEqual(['127.0.0.1:7001']);
    expect(finding?.summary).toContain(`"garbage ${'x'.repeat(112)}…"`);
    expect(result.nodes.find((n) => n.address === '127.0.0.1:7001')).toMatchObject({
      reachable: true,
      error: 'reply unparseable: expected at least 8 fields, got 2',
    });
  });

  it('reports a node past a limit as LIMIT_EXCEEDED, not as unreachable', () => {
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      { ...deadView('127.0.0.1:7001'), error: { code: 'limit' as const, message: 'sent more than 5 bytes' } },
    ];

    const result = report(views, { maxNodes: 1000, skipped: 3 });

    expect(result.state).toBe('fail');
    expect(result.findings.filter((f) => f.code === 'LIMIT_EXCEEDED').map((f) => f.summary)).toEqual([
      '127.0.0.1:7001 sent more than 5 bytes.',
      'The views list more nodes than the node limit (1000); not probed: 3 addresses.',
    ]);
    expect(result.findings.some((f) => f.code === 'NODE_UNREACHABLE')).toBe(false);
  });
});
