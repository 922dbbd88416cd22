import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/core/diagnose.js';
import { type Report, Report as ReportSchema } from '../../src/core/report.js';
import {
  deleteSlotsEverywhere,
  killMasterAndReplicas,
  waitUntilFailed,
  waitUntilState,
} from '../support/break.js';
import { waitUntilHealthy } from '../support/cluster.js';
import { writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

async function check(seeds: readonly string[]): Promise<Report> {
  const result = await diagnose(seeds, { nodeTimeoutMs: 1000, deadlineMs: 6000 });
  if (!result.ok) throw new Error(result.error.message);
  return ReportSchema.parse(result.value);
}

const codes = (report: Report) => report.findings.map((f) => `${f.severity}:${f.code}`).sort();

describe('diagnosis of real clusters', () => {
  it('reports a healthy cluster as ok with every slot covered and no finding', async () => {
    const cluster = await harness.start();
    await writeKeys(cluster.masters[0]?.redis as never, 42, 5);

    const report = await check(cluster.seeds);

    expect(report.state).toBe('ok');
    expect(report.slots).toEqual({ covered: 16384, uncovered: 0, gaps: [] });
    expect(report.findings).toEqual([]);
    expect(report.nodes).toHaveLength(6);
    expect(report.nodes.filter((n) => n.role === 'master').map((n) => n.slots)).toEqual(
      expect.arrayContaining([[[0, 5460]], [[5461, 10921]], [[10922, 16383]]]),
    );
    expect(report.nodes.every((n) => n.reachable && n.version?.startsWith('7'))).toBe(true);
  });

  it('reports an owner-failed gap and CLUSTERDOWN when a master and its replica die', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    await writeKeys(victim.redis, 100, 7);
    const alive = await killMasterAndReplicas(cluster, victim);

    const report = await check(alive.map((n) => n.address));

    expect(report.state).toBe('fail');
    expect(report.slots.gaps).toEqual([
      { start: 0, end: 5460, reason: 'owner-failed', owner: victim.id, keys: null },
    ]);
    expect(report.slots.uncovered).toBe(5461);
    expect(codes(report)).toEqual(
      expect.arrayContaining(['error:CLUSTER_DOWN', 'error:SLOTS_OWNER_FAILED', 'error:NODE_FAILED']),
    );
    const ownerFailed = report.findings.find((f) => f.code === 'SLOTS_OWNER_FAILED');
    expect(ownerFailed?.summary).toContain('no live replica');
    expect(ownerFailed?.next).toContain('RDB/AOF');
  });

  it('reports failover leftovers when a master with a replica dies', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const [heir] = cluster.replicaOf(victim);
    await victim.process.kill();
    const alive = cluster.nodes.filter((n) => n !== victim);
    await waitUntilFailed(alive, victim);
    await waitFor('the replica to take over', async () => {
      const text = String(await heir?.redis.call('CLUSTER', 'NODES'));
      return text.split('\n').some((l) => l.includes('myself,master') && l.includes('0-5460'));
    });
    await waitUntilState(alive, 'ok');

    const report = await check([heir?.address ?? '']);

    expect(report.state).toBe('ok');
    expect(report.slots.uncovered).toBe(0);
    expect(codes(report)).toEqual([
      'warning:MASTER_NO_REPLICA',
      'warning:NODE_FAILED',
      'warning:NODE_FORGETTABLE',
      'warning:NODE_UNREACHABLE',
    ]);
    expect(report.findings.find((f) => f.code === 'MASTER_NO_REPLICA')?.nodes).toEqual([heir?.id]);
    expect(report.findings.find((f) => f.code === 'NODE_FORGETTABLE')?.nodes).toEqual([victim.id]);
  });

  it('reports an unassigned gap with its key count when slots are deleted while keys remain', async () => {
    const cluster = await harness.start();
    const [owner] = cluster.masters;
    if (!owner) throw new Error('no master');
    await writeKeys(owner.redis, 10, 30);
    await writeKeys(owner.redis, 900, 12);
    await deleteSlotsEverywhere(cluster.nodes, 0, 999);
    await waitUntilState(cluster.nodes, 'fail');

    const report = await check(cluster.seeds);

    expect(report.slots.gaps).toEqual([{ start: 0, end: 999, reason: 'unassigned', owner: null, keys: 42 }]);
    expect(codes(report)).toEqual(expect.arrayContaining(['error:CLUSTER_DOWN', 'error:SLOTS_UNASSIGNED']));
    expect(codes(report)).not.toContain('error:KEYS_ORPHANED');
    const unassigned = report.findings.find((f) => f.code === 'SLOTS_UNASSIGNED');
    expect(unassigned?.nodes).toEqual([owner.id]);
    expect(report.keyCounts).toEqual(
      expect.arrayContaining([
        { node: owner.id, slot: 10, keys: 30 },
        { node: owner.id, slot: 900, keys: 12 },
      ]),
    );
  });

  it('reports a gap but no CLUSTERDOWN when full coverage is not required', async () => {
    const cluster = await harness.start({ config: { 'cluster-require-full-coverage': 'no' } });
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);

    const report = await check(cluster.seeds);

    expect(report.slots.gaps).toEqual([{ start: 0, end: 99, reason: 'unassigned', owner: null, keys: 0 }]);
    expect(report.state).toBe('fail');
    expect(codes(report)).toContain('warning:FULL_COVERAGE_DISABLED');
    expect(codes(report)).not.toContain('error:CLUSTER_DOWN');
    expect(report.findings.find((f) => f.code === 'FULL_COVERAGE_DISABLED')?.summary).toContain(
      'Hash slot not served',
    );
  });

  it('reports QUORUM_LOST when two of three masters die at once', async () => {
    const cluster = await harness.start();
    const [a, b, survivor] = cluster.masters;
    if (!a || !b || !survivor) throw new Error('no masters');
    await writeKeys(a.redis, 3, 4);
    await Promise.all([a.process.kill(), b.process.kill()]);
    await waitUntilState([survivor], 'fail');

    const report = await check([survivor.address]);

    expect(codes(report)).toEqual(expect.arrayContaining(['error:QUORUM_LOST', 'error:CLUSTER_DOWN']));
    expect(report.findings.find((f) => f.code === 'QUORUM_LOST')?.nodes.sort()).toEqual([a.id, b.id].sort());
    expect(report.slots.uncovered).toBe(16384 - 5462);
    const gapOfA = report.slots.gaps.find((g) => g.owner === a.id);
    expect(gapOfA?.keys).toBe(4);
  });

  it('says CONFIG is unreadable when renamed, and still counts keys when scripts are off', async () => {
    const cluster = await harness.start({
      masters: 3,
      replicasPerMaster: 0,
      config: { 'rename-command': ['CONFIG ""', 'EVAL_RO ""'] },
    });
    const [owner] = cluster.masters;
    if (!owner) throw new Error('no master');
    await writeKeys(owner.redis, 20, 9);
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);

    const report = await check(cluster.seeds);

    expect(report.slots.gaps).toEqual([{ start: 0, end: 99, reason: 'unassigned', owner: null, keys: 9 }]);
    expect(
      report.config.every((c) => c.unavailable?.startsWith('CONFIG GET refused: ERR unknown command')),
    ).toBe(true);
    expect(report.config).toHaveLength(3);
  });

  it('waits for gossip to settle once a cluster heals', async () => {
    const cluster = await harness.start();
    await waitUntilHealthy(cluster.nodes);
    const report = await check(cluster.nodes.map((n) => n.address));
    expect(report.findings.filter((f) => f.code === 'VIEWS_DISAGREE')).toEqual([]);
  });
});
