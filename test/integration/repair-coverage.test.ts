import { describe, expect, it } from 'vitest';
import { stepWaves } from '../../src/core/repair/execute.js';
import { deleteSlotsEverywhere, killMasterAndReplicas, waitUntilState } from '../support/break.js';
import { checkData, seedData } from '../support/data.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { addedRanges, expectHealthy, planFor, repair } from '../support/repair.js';

const harness = clusterPerTest();

const range = (start: number, end: number) => Array.from({ length: end - start + 1 }, (_, i) => start + i);

describe('repairs that settle slot ownership', () => {
  it('gives the slots of a dead master without replica to the others, losing exactly their keys', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const written = await seedData(cluster, [...range(0, 40), ...range(5000, 5470), 9000, 16000], 10_000);
    const alive = await killMasterAndReplicas(cluster, victim);
    const seeds = alive.map((n) => n.address);

    const option = await planFor(seeds, 'take-over-slots');
    const refused = await repair(option, seeds);
    const events: string[] = [];
    const result = await repair(option, seeds, {
      acceptDataLoss: true,
      onEvent: (e) => events.push(`${e.type} ${e.step.action.type}`),
    });

    expect(refused.status).toBe('refused');
    expect(option.risk).toBe('data-loss');
    expect(option.loss?.slots).toEqual([[0, 5460]]);
    expect(result).toMatchObject({ status: 'done', error: null });
    expect(addedRanges(option).every((ranges) => ranges.length === 1)).toBe(true);
    // Two waves: every dead node forgotten at once, then every receiver claims its share at once (one wait for
    // gossip, not one per step).
    expect(stepWaves(option.steps).map((w) => w.map((i) => option.steps[i - 1]?.action.type))).toEqual([
      ['forget', 'forget'],
      ['add-slots', 'add-slots', 'bump-epoch', 'bump-epoch'],
    ]);
    const claims = events.filter((e) => / (add-slots|bump-epoch)$/.test(e));
    const firstDone = claims.findIndex((e) => e.startsWith('step-finished'));
    expect(claims.slice(0, firstDone).filter((e) => e.startsWith('step-started')).length).toBe(
      claims.filter((e) => e.startsWith('step-started')).length,
    );
    expect(claims.filter((e) => e.startsWith('step-started')).length).toBeGreaterThanOrEqual(2);
    const after = await expectHealthy(alive);
    expect(after.nodes.map((n) => n.id)).not.toContain(victim.id);
    const data = await checkData(cluster, written, new Set(range(0, 5460)));
    expect(data.wrong).toEqual([]);
    expect(data.survivedLoss).toEqual([]);
    expect(data.intact + data.lost).toBe(10_000);
    expect(data.lost).toBeGreaterThan(0);
    expect(Object.values(result.dbsizeAfter).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)).toBe(data.intact);
  });

  it('fails over to the replica with FORCE when it did not take over by itself, keeping every key', async () => {
    const cluster = await harness.start({ config: { 'cluster-replica-no-failover': 'yes' } });
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const written = await seedData(cluster, [...range(100, 140), 7000, 12000], 10_000);
    await victim.process.kill();
    const alive = cluster.nodes.filter((n) => n !== victim);
    await waitUntilState(alive, 'fail');
    const seeds = alive.map((n) => n.address);

    const option = await planFor(seeds, 'failover');
    const result = await repair(option, seeds);

    expect(option.steps.map((s) => s.command)).toEqual(['CLUSTER FAILOVER FORCE']);
    expect(option.risk).toBe('safe');
    expect(result.status).toBe('done');
    await expectHealthy(alive);
    const data = await checkData(cluster, written);
    expect(data).toMatchObject({ intact: 10_000, wrong: [] });
  });

  it('gives deleted slots back to the master that still holds their keys and spreads the empty ones', async () => {
    const cluster = await harness.start();
    const written = await seedData(cluster, [...range(2000, 2060), 9000], 10_000);
    await deleteSlotsEverywhere(cluster.nodes, 1000, 4999);
    await waitUntilState(cluster.nodes, 'fail');

    const option = await planFor(cluster.seeds, 'cover-unassigned');
    const result = await repair(option, cluster.seeds);

    expect(result.status).toBe('done');
    const holder = cluster.masters[0]?.id;
    const holderRanges = option.steps.flatMap((s) =>
      s.action.type === 'add-slots' && s.action.node === holder ? s.action.ranges : [],
    );
    // The holder owns fewest slots after the deletion, so balancing gives it the keyless slots too: one range.
    expect(holderRanges).toEqual([[1000, 4999]]);
    expect(addedRanges(option).every((ranges) => ranges.length === 1)).toBe(true);
    await expectHealthy(cluster.nodes);
    expect(await checkData(cluster, written)).toMatchObject({ intact: 10_000, wrong: [] });
  });
});
