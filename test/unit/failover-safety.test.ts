import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/core/analyze.js';
import { linkSlackMs } from '../../src/core/info.js';
import type { NodeView } from '../../src/core/probe.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import type { Report } from '../../src/core/report.js';
import { buildTopology } from '../../src/core/topology.js';
import { findDisagreements } from '../../src/core/views-disagree.js';
import { deadView, type FakeNode, fakeId, fakeView, noCounts, nodesText } from '../support/synthetic.js';

const A = fakeId(1);
const B = fakeId(2);
const C = fakeId(3);
const RA = fakeId(11);
const NOW_MS = 1_800_000_000_000;
const nodes: FakeNode[] = [
  { id: A, port: 7000, role: 'master', slots: '0-5460', epoch: 1 },
  { id: B, port: 7001, role: 'master', slots: '5461-10922', epoch: 2 },
  { id: C, port: 7002, role: 'master', slots: '10923-16383', epoch: 3 },
  { id: RA, port: 7003, role: 'slave', master: A, epoch: 1 },
];

interface Scene {
  /** The replica's master_link_down_since_seconds (its link is down). */
  readonly downSeconds: number;
  /** How long ago each surviving view last heard A (its pong_recv), by id; missing: never (pong_recv 0). */
  readonly silentMs: Partial<Record<string, number>>;
  readonly nodeTimeoutMs?: number;
  readonly offset?: number;
}

/** A died; each survivor's view, by its own clock, last heard A `silentMs[id]` ago. */
/** The report of `views` and the failover the planner offers for it. */
function planOf(views: NodeView[]) {
  const topology = buildTopology(views);
  const report = analyze({
    seeds: ['127.0.0.1:7001'],
    views,
    topology,
    counts: noCounts(),
    disagreements: findDisagreements(topology),
    startedAt: 0,
    finishedAt: 1,
  });
  return { report, failover: planRepairs(report).find((o) => o.kind === 'failover') };
}

function afterDeath({ downSeconds, silentMs, nodeTimeoutMs = 15_000, offset = 5000 }: Scene) {
  const views: NodeView[] = [
    deadView('127.0.0.1:7000'),
    ...nodes
      .filter((n) => n.id !== A)
      .map((n) => {
        const silent = silentMs[n.id];
        const text = nodesText(nodes, n.id, (x) => (x.id === A ? ['fail'] : [])).replace(
          new RegExp(`^(${A} \\S+ \\S+ -) 0 0`, 'm'),
          `$1 0 ${silent === undefined ? 0 : NOW_MS - silent}`,
        );
        const view = fakeView(`127.0.0.1:${n.port}`, text, 'fail');
        const replication =
          n.id === RA
            ? {
                role: 'slave',
                master_link_status: 'down',
                master_link_down_since_seconds: String(downSeconds),
                master_sync_in_progress: '0',
                slave_repl_offset: String(offset),
              }
            : { role: 'master', master_repl_offset: '0' };
        return {
          ...view,
          config: { ...view.config, nodeTimeoutMs },
          info: { ...view.info, server: { server_time_usec: String(NOW_MS * 1000) }, replication },
        };
      }),
  ];
  const { report, failover } = planOf(views);
  return { report, failover, replica: report.nodes.find((n) => n.id === RA) };
}

const restartAdvice =
  /^Restart 127\.0\.0\.1:7000 \(0{8}\) from its RDB\/AOF first if it can come back: that loses nothing\./;

describe('failover safety: the link must be up until the master went silent', () => {
  it('allows a fifth of the node timeout, between 2 and 5 s, for whole seconds and probe timing', () => {
    expect([1000, 15_000, 20_000, 60_000].map((t) => linkSlackMs(t))).toEqual([2000, 3000, 4000, 5000]);
  });

  it.each([
    // node timeout 15 s: 3 s of slack.
    ['down with the master', 'safe', 30, 30_000, 15_000],
    ['down 3 s before the master went silent (the slack)', 'safe', 33, 30_000, 15_000],
    ['down 4 s before', 'data-loss', 34, 30_000, 15_000],
    ['down 100 s before, inside Redis replica validity (160 s)', 'data-loss', 130, 30_000, 15_000],
    ['down after the master went silent (a hung master)', 'safe', 10, 70_000, 15_000],
    // node timeout 1.5 s: 2 s of slack.
    ['down 2 s before, short node timeout', 'safe', 12, 10_000, 1500],
    ['down 3 s before, short node timeout', 'data-loss', 13, 10_000, 1500],
  ] as const)('a replica %s is %s', (_, risk, downSeconds, silent, nodeTimeoutMs) => {
    const { failover } = afterDeath({ downSeconds, silentMs: { [RA]: silent }, nodeTimeoutMs });

    expect(failover?.risk).toBe(risk);
  });

  it('says how long before the master went silent the link dropped, restart advice first, keys unknown', () => {
    const { failover, replica, report } = afterDeath({ downSeconds: 72, silentMs: { [RA]: 30_000 } });

    expect(failover?.risk).toBe('data-loss');
    expect(failover?.explanation).toMatch(restartAdvice);
    expect(failover?.explanation).toContain(
      `127.0.0.1:7003 (${RA.slice(0, 8)}) lost its replication link 42 s before 127.0.0.1:7000 (${A.slice(0, 8)}) went silent; writes in between are lost`,
    );
    expect(failover?.loss).toMatchObject({ slots: [[0, 5460]], keys: null });
    expect(replica).toMatchObject({
      replicaSynced: true,
      replicaLinkDownSeconds: 42,
      replicaUpToDate: false,
    });
    expect(report.slots.gaps[0]?.keys).toBeNull();
  });

  it('takes the latest moment any node heard the master, not only the replica', () => {
    // The replica last heard A 60 s ago, but B heard it 10 s ago: A ran 50 s after the link dropped.
    const { failover, replica } = afterDeath({ downSeconds: 60, silentMs: { [RA]: 60_000, [B]: 10_000 } });

    expect(failover?.risk).toBe('data-loss');
    expect(replica?.replicaLinkDownSeconds).toBe(50);
  });

  it('is data loss when no node can tell when the master went silent and the link is down longer than the slack', () => {
    const unknown = afterDeath({ downSeconds: 30, silentMs: {} });
    const brief = afterDeath({ downSeconds: 2, silentMs: {} });

    expect(unknown.failover?.risk).toBe('data-loss');
    expect(unknown.failover?.explanation).toMatch(restartAdvice);
    expect(unknown.failover?.explanation).toContain('nobody can tell whether the replication link');
    expect(unknown.replica).toMatchObject({ replicaLinkDownSeconds: null, replicaUpToDate: false });
    expect(brief.failover?.risk).toBe('safe');
  });

  it('says a safe failover rests on the link timing when the master offset is unknown', () => {
    const { failover } = afterDeath({ downSeconds: 30, silentMs: { [RA]: 30_000, [C]: 29_000 } });

    expect(failover?.risk).toBe('safe');
    expect(failover?.explanation).toMatch(
      /^Its replication link stayed up until 127\.0\.0\.1:7000 \(0{8}\) went silent and no replica of the master has a higher offset; the master's own last offset is not known to this probe/,
    );
  });
});

describe('failover safety: the offset against the master', () => {
  it("is data loss when a master the probe still reaches reports an offset far ahead of the replica's", () => {
    const scene = (masterOffset: number) => {
      const views: NodeView[] = nodes.map((n) => {
        const view = fakeView(
          `127.0.0.1:${n.port}`,
          nodesText(nodes, n.id, (x) => (x.id === A && n.id !== A ? ['fail'] : [])),
          'fail',
        );
        const replication =
          n.id === RA
            ? {
                role: 'slave',
                master_link_status: 'up',
                master_sync_in_progress: '0',
                slave_repl_offset: '5000',
              }
            : { role: 'master', master_repl_offset: n.id === A ? String(masterOffset) : '0' };
        return { ...view, info: { ...view.info, replication } };
      });
      return planOf(views).failover;
    };

    const behind = scene(90_000);
    const level = scene(5100);

    expect(behind?.risk).toBe('data-loss');
    expect(behind?.explanation).toMatch(restartAdvice);
    expect(behind?.explanation).toContain(
      "85000 bytes behind the master's last known replication offset (90000)",
    );
    expect(level?.risk).toBe('safe');
    expect(level?.explanation).toContain("within 1024 bytes of the master's last known one (5100)");
  });
});

/** The report with what A's live replicas heard it announce last (CLUSTER SHARDS), as diagnose adds it. */
const announcedBy = (report: Report, offset: number): Report => ({
  ...report,
  nodes: report.nodes.map((n) => (n.id === A ? { ...n, lastKnownOffset: offset } : n)),
});

describe("failover safety: the offset against the dead master's last announced one", () => {
  // The link went down with the master (timing looks fine) and the replica is at 5000.
  const scene = () => afterDeath({ downSeconds: 30, silentMs: { [RA]: 30_000 } });

  it('is data loss when the dead master was known to be more than 1 KiB ahead of the replica', () => {
    const { report } = scene();
    const failover = planRepairs(announcedBy(report, 90_000)).find((o) => o.kind === 'failover');

    expect(failover?.risk).toBe('data-loss');
    expect(failover?.explanation).toMatch(restartAdvice);
    expect(failover?.explanation).toContain(
      `127.0.0.1:7003 (${RA.slice(0, 8)}) is 85000 bytes behind the last offset 127.0.0.1:7000 (${A.slice(0, 8)}) was known to have (90000); writes in between are lost`,
    );
    expect(failover?.loss).toMatchObject({ slots: [[0, 5460]], keys: null });
  });

  it('stays safe within 1 KiB, and says the announced offset vouched for it', () => {
    const { report } = scene();
    const level = planRepairs(announcedBy(report, 6024)).find((o) => o.kind === 'failover');
    const over = planRepairs(announcedBy(report, 6025)).find((o) => o.kind === 'failover');

    expect(level?.risk).toBe('safe');
    expect(level?.explanation).toMatch(
      /^Its replication link stayed up until 127\.0\.0\.1:7000 \(0{8}\) went silent and its replication offset is within 1024 bytes of the last offset the master was known to have \(6024, as it last announced on the cluster bus/,
    );
    expect(over?.risk).toBe('data-loss');
  });

  it('never lets the announced offset excuse a link that dropped early', () => {
    const { report } = afterDeath({ downSeconds: 72, silentMs: { [RA]: 30_000 } });
    const failover = planRepairs(announcedBy(report, 5000)).find((o) => o.kind === 'failover');

    expect(failover?.risk).toBe('data-loss');
    expect(failover?.explanation).toContain('lost its replication link 42 s before');
  });
});
