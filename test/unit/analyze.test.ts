import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/core/analyze.js';
import type { NodeView } from '../../src/core/probe.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import { buildTopology } from '../../src/core/topology.js';
import { findDisagreements } from '../../src/core/views-disagree.js';
import { deadView, type FakeNode, fakeId, fakeView, noCounts, nodesText } from '../support/synthetic.js';

const A = fakeId(1);
const B = fakeId(2);
const C = fakeId(3);
const cluster: FakeNode[] = [
  { id: A, port: 7000, role: 'master', slots: '0-5460', epoch: 1 },
  { id: B, port: 7001, role: 'master', slots: '5461-10922', epoch: 2 },
  { id: C, port: 7002, role: 'master', slots: '10923-16383', epoch: 3 },
];

function report(views: NodeView[]) {
  const topology = buildTopology(views);
  return analyze({
    seeds: ['127.0.0.1:7000'],
    views,
    topology,
    counts: noCounts(),
    disagreements: findDisagreements(topology),
    startedAt: 0,
    finishedAt: 5,
  });
}

describe('analyze', () => {
  it('says "1 slot has no owner" for a one-slot gap, and "2 slots have" for two', () => {
    const oneShort = cluster.map((n) => (n.id === A ? { ...n, slots: '1-5460' } : n));
    const twoShort = cluster.map((n) => (n.id === A ? { ...n, slots: '2-5460' } : n));
    const views = (nodes: FakeNode[]) =>
      nodes.map((n, i) => fakeView(`127.0.0.1:${7000 + i}`, nodesText(nodes, n.id), 'fail'));

    const summaries = (nodes: FakeNode[]) =>
      report(views(nodes))
        .findings.map((f) => f.summary)
        .join('\n');

    expect(summaries(oneShort)).toContain('1 slot (0) has no owner');
    expect(summaries(oneShort)).not.toMatch(/1 slot\b[^.;]* have/);
    expect(summaries(twoShort)).toContain('2 slots (0-1) have no owner');
  });

  it('does not call one node suspecting another (PFAIL) a disagreement or a failure', () => {
    const views = [
      fakeView(
        '127.0.0.1:7000',
        nodesText(cluster, A, (n) => (n.id === C ? ['fail?'] : [])),
      ),
      fakeView('127.0.0.1:7001', nodesText(cluster, B)),
      deadView('127.0.0.1:7002', 'no answer before the deadline'),
    ];

    const result = report(views);

    expect(result.findings.map((f) => f.code)).not.toContain('VIEWS_DISAGREE');
    expect(result.findings.map((f) => f.code)).not.toContain('NODE_FAILED');
    const unreachable = result.findings.find((f) => f.code === 'NODE_UNREACHABLE');
    expect(unreachable?.summary).toContain('some nodes suspect it (PFAIL)');
    expect(result.slots.gaps).toEqual([
      { start: 10923, end: 16383, reason: 'owner-unreachable', owner: C, keys: null },
    ]);
  });

  it('names the node that sees a different slot owner, and what it sees', () => {
    const stale = cluster.map((n) =>
      n.id === A ? { ...n, slots: '101-5460' } : n.id === B ? { ...n, slots: '0-100 5461-10922' } : n,
    );
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      fakeView('127.0.0.1:7001', nodesText(cluster, B)),
      fakeView('127.0.0.1:7002', nodesText(stale, C)),
    ];

    const result = report(views);

    const disagree = result.findings.find((f) => f.code === 'VIEWS_DISAGREE');
    expect(disagree?.nodes).toEqual([C]);
    expect(disagree?.details).toEqual([
      `127.0.0.1:7002 (${C.slice(0, 8)}) sees slots 0-100 owned by 127.0.0.1:7001 (${B.slice(0, 8)}); the others see 127.0.0.1:7000 (${A.slice(0, 8)})`,
    ]);
  });

  it('agrees with itself on captured views of one healthy cluster', () => {
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      fakeView('127.0.0.1:7001', nodesText(cluster, B)),
      fakeView('127.0.0.1:7002', nodesText(cluster, C)),
    ];
    const result = report(views);
    expect(result.state).toBe('ok');
    expect(result.findings.map((f) => f.code)).toEqual([
      'MASTER_NO_REPLICA',
      'MASTER_NO_REPLICA',
      'MASTER_NO_REPLICA',
    ]);
  });

  it('merges a dead owner with agreed FAIL into one owner-failed gap and keeps keys unknown', () => {
    const failed = (n: FakeNode) => (n.id === C ? ['fail'] : []);
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A, failed), 'fail'),
      fakeView('127.0.0.1:7001', nodesText(cluster, B, failed), 'fail'),
      deadView('127.0.0.1:7002'),
    ];

    const result = report(views);

    expect(result.slots).toEqual({
      covered: 10923,
      uncovered: 5461,
      gaps: [{ start: 10923, end: 16383, reason: 'owner-failed', owner: C, keys: null }],
    });
    expect(result.findings.map((f) => `${f.severity}:${f.code}`)).toEqual(
      expect.arrayContaining(['error:CLUSTER_DOWN', 'error:SLOTS_OWNER_FAILED', 'error:NODE_FAILED']),
    );
    expect(result.findings.map((f) => f.code)).not.toContain('QUORUM_LOST');
  });

  it('reports a node that the others do not list', () => {
    const stranger: FakeNode = { id: fakeId(9), port: 7009, role: 'master' };
    const views = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      fakeView('127.0.0.1:7001', nodesText(cluster, B)),
      fakeView('127.0.0.1:7002', nodesText(cluster, C)),
      fakeView('127.0.0.1:7009', nodesText([stranger], stranger.id)),
    ];
    const result = report(views);
    const isolated = result.findings.find((f) => f.code === 'NODE_ISOLATED');
    expect(isolated?.nodes).toEqual([stranger.id]);
    expect(isolated?.summary).toContain('no other node lists it');
  });

  it('reports a node stuck in handshake without calling it a disagreement', () => {
    const shaking: FakeNode = { id: fakeId(7), port: 7007, role: 'master' };
    const withHandshake = (self: string) =>
      `${nodesText(cluster, self)}\n${shaking.id} 127.0.0.1:7007@17007 handshake - 0 0 0 connected`;
    const views = [
      fakeView('127.0.0.1:7000', withHandshake(A)),
      fakeView('127.0.0.1:7001', nodesText(cluster, B)),
      fakeView('127.0.0.1:7002', nodesText(cluster, C)),
    ];

    const result = report(views);

    const handshake = result.findings.find((f) => f.code === 'NODE_HANDSHAKE');
    expect(handshake?.nodes).toEqual([shaking.id]);
    expect(handshake?.summary).toContain('127.0.0.1:7007');
    expect(result.findings.map((f) => f.code)).not.toContain('VIEWS_DISAGREE');
  });

  describe('membership', () => {
    const RA = fakeId(11);
    const RB = fakeId(12);
    const gone: FakeNode = { id: fakeId(15), port: 7005, role: 'master', epoch: 0 };
    const live: FakeNode[] = [
      ...cluster,
      { id: RA, port: 7003, role: 'slave', master: A, epoch: 1 },
      { id: RB, port: 7004, role: 'slave', master: B, epoch: 2 },
    ];
    const label = (port: number, id: string) => `127.0.0.1:${port} (${id.slice(0, 8)})`;

    it('names who still lists a dead node and who forgot it, and forgets it on exactly those', () => {
      const forgotten = new Set([A, B]);
      const views = [
        ...live.map((n) => {
          const known = forgotten.has(n.id) ? live : [...live, gone];
          return fakeView(
            `127.0.0.1:${n.port}`,
            nodesText(known, n.id, (m) => (m.id === gone.id ? ['fail'] : [])),
          );
        }),
        deadView('127.0.0.1:7005'),
      ];

      const result = report(views);

      const disagree = result.findings.find((f) => f.code === 'VIEWS_DISAGREE');
      expect(disagree?.details).toEqual([
        `${label(7002, C)}, ${label(7003, RA)}, ${label(7004, RB)} still list ${label(7005, gone.id)}; ${label(7000, A)}, ${label(7001, B)} have forgotten it`,
      ]);
      expect([...(disagree?.nodes ?? [])].sort()).toEqual([A, B, C, RA, RB].sort());
      const forgettable = result.findings.find((f) => f.code === 'NODE_FORGETTABLE');
      expect(forgettable?.nodes).toEqual([gone.id]);
      expect(forgettable?.summary).toContain(
        `still listed by 3 of 5 nodes: ${label(7002, C)}, ${label(7003, RA)}, ${label(7004, RB)}.`,
      );
      expect(result.nodes.find((n) => n.id === gone.id)?.listedBy).toEqual([C, RA, RB]);
      const forget = planRepairs(result).find((o) => o.kind === 'forget-failed');
      expect(forget?.steps.map((s) => s.action)).toEqual([{ type: 'forget', target: gone.id }]);
      expect(forget?.steps[0]?.why).toContain(
        `still listed by ${label(7002, C)}, ${label(7003, RA)}, ${label(7004, RB)}`,
      );
    });

    it('does not call a node still joining (in handshake elsewhere) a disagreement', () => {
      const joining: FakeNode = { id: fakeId(16), port: 7006, role: 'master', epoch: 0 };
      const views = live.map((n) =>
        fakeView(
          `127.0.0.1:${n.port}`,
          n.id === A || n.id === B
            ? `${nodesText(live, n.id)}\n${fakeId(99)} 127.0.0.1:7006@17006 handshake - 0 0 0 connected`
            : nodesText([...live, joining], n.id),
        ),
      );

      expect(report(views).findings.map((f) => f.code)).not.toContain('VIEWS_DISAGREE');
    });
  });
});
