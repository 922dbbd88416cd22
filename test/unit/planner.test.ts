import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/core/analyze.js';
import type { KeyCounts } from '../../src/core/key-counts.js';
import type { NodeView } from '../../src/core/probe.js';
import { balanceSlots } from '../../src/core/repair/balance.js';
import { fingerprintOf } from '../../src/core/repair/fingerprint.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import { countSlots, rangesFromSlots, slotsIn } from '../../src/core/slot-ranges.js';
import { SlotSet } from '../../src/core/slot-set.js';
import { buildTopology } from '../../src/core/topology.js';
import { findDisagreements } from '../../src/core/views-disagree.js';
import { deadView, type FakeNode, fakeId, fakeView, noCounts, nodesText } from '../support/synthetic.js';

const A = fakeId(1);
const B = fakeId(2);
const C = fakeId(3);
const RA = fakeId(11);
const RA2 = fakeId(12);

function reportOf(views: NodeView[], counts: KeyCounts = noCounts()) {
  const topology = buildTopology(views);
  return analyze({
    seeds: ['127.0.0.1:7001'],
    views,
    topology,
    counts,
    disagreements: findDisagreements(topology),
    startedAt: 0,
    finishedAt: 1,
  });
}

function countsOf(entries: Record<string, Record<number, number>>): KeyCounts {
  const bySlot = new Map(
    Object.entries(entries).map(([id, slots]) => [
      id,
      new Map(Object.entries(slots).map(([s, k]) => [Number(s), k])),
    ]),
  );
  return {
    bySlot,
    counted: new Map(Object.keys(entries).map((id) => [id, SlotSet.all()])),
    dbsize: new Map(),
  };
}

/** A replica's INFO: synced and its link up, unless `replication` says otherwise. */
const withOffset = (view: NodeView, offset: number, replication: Record<string, string> = {}): NodeView => ({
  ...view,
  info: {
    ...view.info,
    server: { ...view.info?.server, server_time_usec: String(NOW_MS * 1000) },
    replication: {
      role: 'slave',
      master_link_status: 'up',
      master_sync_in_progress: '0',
      slave_repl_offset: String(offset),
      ...replication,
    },
  },
});

const NOW_MS = 1_800_000_000_000;

describe('balanceSlots', () => {
  it('hands out contiguous chunks so that totals end up as even as possible', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.integer({ min: 0, max: 6000 }), { minLength: 1, maxLength: 8 }),
        (count, owned) => {
          const slots = Array.from({ length: count }, (_, i) => i + 100);
          const receivers = owned.map((n, i) => ({ id: `n${i}`, owned: n }));
          const result = balanceSlots(slots, receivers);
          const given = [...result.values()].flat();
          expect(countSlots(given)).toBe(count);
          expect(new Set(slotsIn(given)).size).toBe(count);
          for (const ranges of result.values()) expect(ranges).toHaveLength(1);
          const totals = receivers.map((r) => r.owned + countSlots(result.get(r.id) ?? []));
          const receiving = receivers
            .filter((r) => result.has(r.id))
            .map((r) => r.owned + countSlots(result.get(r.id) ?? []));
          // Nobody who received ends up more than one slot above anybody else.
          expect(Math.max(...receiving) - Math.min(...totals)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('fingerprintOf', () => {
  const cluster: FakeNode[] = [
    { id: A, port: 7000, role: 'master', slots: '0-8191', epoch: 1 },
    { id: B, port: 7001, role: 'master', slots: '8192-16383', epoch: 2 },
  ];
  const healthy = () => [
    fakeView('127.0.0.1:7000', nodesText(cluster, A)),
    fakeView('127.0.0.1:7001', nodesText(cluster, B)),
  ];

  it('ignores PFAIL, reachability and offsets', () => {
    const flicker = [
      fakeView('127.0.0.1:7000', nodesText(cluster, A)),
      withOffset(
        fakeView(
          '127.0.0.1:7001',
          nodesText(cluster, B, (n) => (n.id === A ? ['fail?'] : [])),
        ),
        99,
      ),
    ];
    expect(fingerprintOf(reportOf(flicker))).toBe(fingerprintOf(reportOf(healthy())));
  });

  it('changes with slot owners, FAIL flags and epochs', () => {
    const moved = cluster.map((n) =>
      n.id === A ? { ...n, slots: '0-8190' } : { ...n, slots: '8191-16383' },
    );
    const failed = [
      fakeView(
        '127.0.0.1:7001',
        nodesText(cluster, B, (n) => (n.id === A ? ['fail'] : [])),
      ),
      deadView('127.0.0.1:7000'),
    ];
    const bumped = cluster.map((n) => (n.id === B ? { ...n, epoch: 5 } : n));
    const base = fingerprintOf(reportOf(healthy()));
    expect(
      fingerprintOf(
        reportOf([
          fakeView('127.0.0.1:7000', nodesText(moved, A)),
          fakeView('127.0.0.1:7001', nodesText(moved, B)),
        ]),
      ),
    ).not.toBe(base);
    expect(fingerprintOf(reportOf(failed))).not.toBe(base);
    expect(
      fingerprintOf(
        reportOf([
          fakeView('127.0.0.1:7000', nodesText(bumped, A)),
          fakeView('127.0.0.1:7001', nodesText(bumped, B)),
        ]),
      ),
    ).not.toBe(base);
  });
});

describe('planRepairs', () => {
  const three: FakeNode[] = [
    { id: A, port: 7000, role: 'master', slots: '0-5460', epoch: 1 },
    { id: B, port: 7001, role: 'master', slots: '5461-10922', epoch: 2 },
    { id: C, port: 7002, role: 'master', slots: '10923-16383', epoch: 3 },
    { id: RA, port: 7003, role: 'slave', master: A, epoch: 1 },
    { id: RA2, port: 7004, role: 'slave', master: A, epoch: 1 },
  ];

  it('gives unassigned slots with keys to the node with most keys, gathers the rest by moving, spreads the empty ones', () => {
    const deleted = three.map((n) => (n.id === A ? { ...n, slots: '1000-5460' } : n));
    const views = deleted.map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(deleted, n.id), 'fail'));
    const counts = countsOf({ [A]: { 10: 5, 20: 1 }, [B]: { 20: 3 }, [C]: {} });

    const options = planRepairs(reportOf(views, counts));
    const cover = options.find((o) => o.id === 'cover-unassigned');

    expect(cover?.risk).toBe('safe');
    const adds = cover?.steps.filter((s) => s.action.type === 'add-slots').map((s) => s.action) ?? [];
    const toA = adds.find((a) => a.type === 'add-slots' && a.node === A);
    const toB = adds.find((a) => a.type === 'add-slots' && a.node === B);
    expect(toA && toA.type === 'add-slots' && [...slotsIn(toA.ranges)]).toContain(10);
    expect(toB && toB.type === 'add-slots' && [...slotsIn(toB.ranges)]).toContain(20);
    expect(cover?.steps.at(-1)?.action).toEqual({ type: 'adopt-keys', slot: 20, holder: A, owner: B });
    const all = adds.flatMap((a) => (a.type === 'add-slots' ? [...slotsIn(a.ranges)] : []));
    expect(rangesFromSlots(all)).toEqual([[0, 999]]);
  });

  it('fails over to the live replica with the highest offset, FORCE normally and TAKEOVER without quorum', () => {
    const failA = (n: FakeNode) => (n.id === A ? ['fail'] : []);
    const views = [
      deadView('127.0.0.1:7000'),
      ...three
        .filter((n) => n.id !== A)
        .map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(three, n.id, failA), 'fail')),
    ].map((v) =>
      v.address === '127.0.0.1:7003'
        ? withOffset(v, 100)
        : v.address === '127.0.0.1:7004'
          ? withOffset(v, 250)
          : v,
    );

    const [failover] = planRepairs(reportOf(views)).filter((o) => o.kind === 'failover');

    expect(failover?.steps.map((s) => s.action)).toEqual([
      { type: 'failover', node: RA2, master: A, mode: 'FORCE', ranges: [[0, 5460]] },
    ]);
    expect(failover?.explanation).toContain('offset, 250');
    expect(failover?.risk).toBe('safe');
    expect(failover?.loss).toBeNull();
    expect(planRepairs(reportOf(views)).map((o) => o.kind)).not.toContain('take-over-slots');

    const noQuorum = [
      deadView('127.0.0.1:7000'),
      deadView('127.0.0.1:7001'),
      ...three
        .filter((n) => n.id === C || n.id === RA)
        .map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(three, n.id), 'fail')),
      deadView('127.0.0.1:7004'),
    ];
    const takeover = planRepairs(reportOf(noQuorum)).find((o) => o.id === `failover-${A.slice(0, 8)}`);
    expect(takeover?.steps[0]?.command).toBe('CLUSTER FAILOVER TAKEOVER');
    expect(takeover?.risk).toBe('data-loss');
  });

  it('offers no data-loss take-over while the owner is only suspected (PFAIL)', () => {
    const pfail = (n: FakeNode) => (n.id === A ? ['fail?'] : []);
    const alone = three.filter((n) => n.id !== RA && n.id !== RA2);
    const views = [
      deadView('127.0.0.1:7000'),
      ...alone
        .filter((n) => n.id !== A)
        .map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(alone, n.id, pfail))),
    ];
    expect(planRepairs(reportOf(views)).map((o) => o.kind)).not.toContain('take-over-slots');
  });

  it('puts ownership first, keys next and membership last in fix-everything', () => {
    const deleted = three.map((n) => (n.id === A ? { ...n, slots: '100-5460' } : n));
    const views = deleted.map((n) => fakeView(`127.0.0.1:${n.port}`, nodesText(deleted, n.id)));
    const counts = countsOf({ [A]: { 50: 2 }, [B]: { 50: 1, 200: 4 }, [C]: {} });
    const options = planRepairs(reportOf(views, counts));
    const everything = options.find((o) => o.id === 'fix-everything');
    const types = everything?.steps.map((s) => s.action.type) ?? [];
    expect(types.indexOf('add-slots')).toBeLessThan(types.indexOf('adopt-keys'));
    expect(everything?.steps.map((s) => s.index)).toEqual(types.map((_, i) => i + 1));
  });
});

describe('failover safety', () => {
  const nodes: FakeNode[] = [
    { id: A, port: 7000, role: 'master', slots: '0-5460', epoch: 1 },
    { id: B, port: 7001, role: 'master', slots: '5461-10922', epoch: 2 },
    { id: C, port: 7002, role: 'master', slots: '10923-16383', epoch: 3 },
    { id: RA, port: 7003, role: 'slave', master: A, epoch: 1 },
  ];
  const failA = (n: FakeNode) => (n.id === A ? ['fail'] : []);
  /** The cluster after A died; the replica's own view last heard from A `silentMs` ago. */
  const afterDeath = (replication: Record<string, string>, silentMs = 2000, keysOnReplica = 0) => {
    const views = [
      deadView('127.0.0.1:7000'),
      ...nodes
        .filter((n) => n.id !== A)
        .map((n) => {
          const text = nodesText(nodes, n.id, failA).replace(
            new RegExp(`^(${A} \\S+ \\S+ -) 0 0`, 'm'),
            `$1 0 ${NOW_MS - silentMs}`,
          );
          const view = fakeView(`127.0.0.1:${n.port}`, text, 'fail');
          return n.id === RA
            ? withOffset(view, Number(replication.slave_repl_offset ?? 0), replication)
            : view;
        }),
    ];
    return reportOf(views, countsOf({ [B]: {}, [C]: {}, [RA]: keysOnReplica ? { 0: keysOnReplica } : {} }));
  };
  const failoverOf = (report: ReturnType<typeof reportOf>) =>
    planRepairs(report).find((o) => o.kind === 'failover');
  const restartAdvice = `Restart 127.0.0.1:7000 (${A.slice(0, 8)}) from its RDB/AOF first if it can come back: that loses nothing.`;

  it('is safe when the replica synced and its link went down with its master', () => {
    const report = afterDeath({
      slave_repl_offset: '5000',
      master_link_status: 'down',
      master_link_down_since_seconds: '2',
    });

    const failover = failoverOf(report);

    expect(failover?.risk).toBe('safe');
    expect(report.nodes.find((n) => n.id === RA)).toMatchObject({
      replicaSynced: true,
      replicaLinkDownSeconds: 0,
      replicaUpToDate: true,
    });
    expect(report.slots.gaps[0]).toMatchObject({ reason: 'owner-failed', keys: 0 });
  });

  it('is data loss, restart advice first, when the replica never synced, and the gap count is unknown', () => {
    const report = afterDeath({
      slave_repl_offset: '0',
      master_link_status: 'down',
      master_link_down_since_seconds: '-1',
    });

    const failover = failoverOf(report);

    expect(failover?.risk).toBe('data-loss');
    expect(failover?.explanation.startsWith(restartAdvice)).toBe(true);
    expect(failover?.explanation).toContain('never finished a sync');
    expect(failover?.loss).toMatchObject({ slots: [[0, 5460]], keys: null });
    expect(failover?.loss?.description).toContain('how many is unknown');
    expect(report.nodes.find((n) => n.id === RA)).toMatchObject({
      replicaSynced: false,
      replicaUpToDate: false,
    });
    expect(report.slots.gaps).toEqual([
      { start: 0, end: 5460, reason: 'owner-failed', owner: A, keys: null },
    ]);
    expect(planRepairs(report).map((o) => o.kind)).not.toContain('take-over-slots');
  });

  it.each([
    [
      'a sync still in progress',
      {
        slave_repl_offset: '0',
        master_sync_in_progress: '1',
        master_link_status: 'down',
        master_link_down_since_seconds: '3',
      },
    ],
    ['no offset at all', { master_link_status: 'down', master_link_down_since_seconds: '3' }],
  ])('is data loss with %s', (_, replication) => {
    expect(failoverOf(afterDeath(replication))?.risk).toBe('data-loss');
  });

  it('is data loss when the link went down long before the master went silent', () => {
    const stale = afterDeath(
      { slave_repl_offset: '5000', master_link_status: 'down', master_link_down_since_seconds: '300' },
      2000,
      40,
    );
    // The same 300 s, but the master went silent at the same moment: nothing was written after.
    const together = afterDeath(
      { slave_repl_offset: '5000', master_link_status: 'down', master_link_down_since_seconds: '300' },
      299_500,
      40,
    );

    expect(failoverOf(stale)?.risk).toBe('data-loss');
    expect(failoverOf(stale)?.explanation.startsWith(restartAdvice)).toBe(true);
    expect(failoverOf(stale)?.explanation).toContain('lost its replication link 298 s before');
    expect(stale.slots.gaps[0]?.keys).toBeNull();
    expect(failoverOf(together)?.risk).toBe('safe');
    expect(together.slots.gaps[0]?.keys).toBe(40);
  });

  it('picks the replica with the highest offset and calls one far behind data loss', () => {
    const two: FakeNode[] = [...nodes, { id: RA2, port: 7004, role: 'slave', master: A, epoch: 1 }];
    const views = (laggard: Record<string, string>) => [
      deadView('127.0.0.1:7000'),
      ...two
        .filter((n) => n.id !== A)
        .map((n) => {
          const view = fakeView(`127.0.0.1:${n.port}`, nodesText(two, n.id, failA), 'fail');
          if (n.id === RA)
            return withOffset(view, 90_000, {
              master_link_status: 'down',
              master_link_down_since_seconds: '1',
            });
          return n.id === RA2 ? withOffset(view, Number(laggard.slave_repl_offset), laggard) : view;
        }),
    ];
    const picked = failoverOf(
      reportOf(
        views({
          slave_repl_offset: '10000',
          master_link_status: 'down',
          master_link_down_since_seconds: '1',
        }),
      ),
    );
    // The leader cannot be used (its link broke long before), so the only choice lags 80,000 bytes behind it.
    const behind = failoverOf(
      reportOf(
        views({
          slave_repl_offset: '10000',
          master_link_status: 'down',
          master_link_down_since_seconds: '1',
        }).map((v) =>
          v.address === '127.0.0.1:7003'
            ? withOffset(v, 90_000, { master_link_status: 'down', master_link_down_since_seconds: '900' })
            : v,
        ),
      ),
    );

    expect(picked?.steps[0]?.action).toMatchObject({ node: RA });
    expect(picked?.risk).toBe('safe');
    expect(behind?.risk).toBe('data-loss');
  });
});
