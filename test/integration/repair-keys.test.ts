import { describe, expect, it } from 'vitest';
import type { RepairOption } from '../../src/core/repair/types.js';
import { countKeysIn, interruptResharding, waitUntilFailed, waitUntilState } from '../support/break.js';
import type { TestCluster, TestNode } from '../support/cluster.js';
import { checkData, seedData } from '../support/data.js';
import { keyInSlot } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { expectHealthy, planFor, repair, report } from '../support/repair.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

function pair(c: TestCluster): [TestNode, TestNode] {
  const [source, target] = c.masters;
  if (!source || !target) throw new Error('no masters');
  return [source, target];
}

/** The slot → owner pairs of an option's settle steps. */
const settled = (option: RepairOption) =>
  option.steps.flatMap((s) =>
    s.action.type === 'settle-slots' ? s.action.slots.map(({ slot, owner }) => ({ slot, owner })) : [],
  );

/** Opens `slot` from source to target and moves `moved` of its keys, like an interrupted reshard. */
async function halfMove(source: TestNode, target: TestNode, slot: number, moved: number): Promise<string[]> {
  const keys = ((await source.redis.call('CLUSTER', 'GETKEYSINSLOT', slot, moved)) as string[]).map(String);
  await target.redis.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
  await source.redis.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
  await source.redis.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
  return keys;
}

describe('repairs that move keys', () => {
  it('finishes an interrupted resharding without losing a key', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    const written = await seedData(cluster, [300, 301, 302, 8000], 10_000);
    await halfMove(source, target, 300, 700);
    await halfMove(source, target, 301, 10);

    const option = await planFor(cluster.seeds, 'close-open-slots');
    const result = await repair(option, cluster.seeds);

    expect(settled(option)).toEqual([
      { slot: 300, owner: target.id },
      { slot: 301, owner: target.id },
    ]);
    expect(result.status).toBe('done');
    const after = await expectHealthy(cluster.nodes);
    expect(after.nodes.find((n) => n.id === target.id)?.slots).toEqual(expect.arrayContaining([[300, 301]]));
    expect(await checkData(cluster, written)).toMatchObject({ intact: 10_000, wrong: [] });
  });

  it('hands keys stranded by SETSLOT STABLE on the target back to the slot owner', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    const written = await seedData(cluster, [77, 78, 9000], 10_000);
    await halfMove(source, target, 77, 1500);
    await target.redis.call('CLUSTER', 'SETSLOT', 77, 'STABLE');
    await source.redis.call('CLUSTER', 'SETSLOT', 77, 'STABLE');

    const option = await planFor(cluster.seeds, 'adopt-orphans');
    const result = await repair(option, cluster.seeds);

    expect(settled(option)).toEqual([{ slot: 77, owner: source.id }]);
    expect(result.status).toBe('done');
    await expectHealthy(cluster.nodes);
    expect(await countKeysIn(target.redis, 77)).toBe(0);
    expect(await checkData(cluster, written)).toMatchObject({ intact: 10_000, wrong: [] });
  });

  it('replaces a key that exists on both ends with the same value, and stops on a different one leaving both', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    await interruptResharding(source, target, 40, 10, 0);
    const same = keyInSlot(40, 'k1');
    const clash = keyInSlot(40, 'k2');
    // The target already holds two of the source's keys: one identical, one different.
    await target.redis.call('ASKING');
    await target.redis.set(same, `value-of-${same}`);
    await target.redis.call('ASKING');
    await target.redis.set(clash, 'a different value');

    const option = await planFor(cluster.seeds, 'close-open-slots');
    const stopped = await repair(option, cluster.seeds);

    expect(stopped.status).toBe('failed');
    expect(stopped.error).toContain(clash);
    expect(stopped.error).not.toContain(same);
    expect(await source.redis.get(clash)).toBe(`value-of-${clash}`);
    await target.redis.call('ASKING');
    expect(await target.redis.get(clash)).toBe('a different value');
    expect(await countKeysIn(source.redis, 40)).toBe(1);
    await target.redis.call('ASKING');
    expect(await target.redis.get(same)).toBe(`value-of-${same}`);

    // A person decides: the source's value wins. Then the same plan resumes and converges.
    await target.redis.call('ASKING');
    await target.redis.del(clash);
    const resumed = await repair(await planFor(cluster.seeds, 'close-open-slots'), cluster.seeds);
    expect(resumed.status).toBe('done');
    await expectHealthy(cluster.nodes);
  });
});

describe('repairs when one end of a migration is gone', () => {
  it("sends keys imported from a master that died (and was failed over) to the slot's new owner", async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    const [heir] = cluster.replicaOf(source);
    const written = await seedData(cluster, [90, 91], 10_000);
    await halfMove(source, target, 90, 2000);
    await source.redis.call('WAIT', 1, 5000);
    await source.process.kill();
    const alive = cluster.nodes.filter((n) => n !== source);
    await waitUntilFailed(alive, source);
    await waitFor('the replica to own the slots', async () =>
      String(await heir?.redis.call('CLUSTER', 'NODES')).includes('myself,master'),
    );
    // The importing target refuses the new owner of slot 90 in its own view: it stays CLUSTERDOWN until repaired.
    await waitUntilState(
      alive.filter((n) => n !== target),
      'ok',
    );
    const seeds = alive.map((n) => n.address);
    const broken = await report(seeds);
    expect(broken.findings.find((f) => f.code === 'CLUSTER_DOWN')?.nodes).toEqual([target.id]);

    const option = await planFor(seeds, 'close-open-slots');
    const result = await repair(option, seeds);

    expect(settled(option)).toEqual([{ slot: 90, owner: heir?.id }]);
    expect(result.status).toBe('done');
    await expectHealthy(alive);
    expect(await checkData(cluster, written)).toMatchObject({ intact: 10_000, wrong: [] });
  });
});
