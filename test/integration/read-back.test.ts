import { describe, expect, it } from 'vitest';
import { ExecContext } from '../../src/core/repair/exec-context.js';
import { collectKeys, countKeys, readBack } from '../../src/core/repair/read-back.js';
import type { TestCluster, TestNode } from '../support/cluster.js';
import { keyInSlot, writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { PROBE } from '../support/repair.js';
import { waitFor } from '../support/wait.js';

// The read-back a settle step ends with, on states it must refuse: keys a cluster client cannot reach.

const harness = clusterPerTest();

/** Lists the slots' keys on every master, then reads each back from the node the cluster names as owner. */
async function readSlots(cluster: TestCluster, slots: number[], between?: () => Promise<void>) {
  const ctx = new ExecContext(cluster.seeds, PROBE, 5000, () => {});
  try {
    const before = await ctx.snapshot();
    const listed = await collectKeys(before, ctx, await countKeys(before, ctx, slots), slots);
    await between?.();
    const s = await ctx.snapshot();
    return {
      listed,
      problems: await readBack(s, ctx, listed.keys, (slot) => s.topology.owners[slot] ?? null),
    };
  } finally {
    ctx.close();
  }
}

const setslot = (node: TestNode, slot: number, ...args: string[]) =>
  node.redis.call('CLUSTER', 'SETSLOT', slot, ...args);

describe('reading every key back through the cluster', () => {
  it('reads every key of healthy slots, binary names included, and finds nothing wrong', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const [a, b] = cluster.masters as [TestNode, TestNode];
    await writeKeys(a.redis, 100, 30);
    await writeKeys(b.redis, 6000, 30);
    const binary = Buffer.concat([Buffer.from(keyInSlot(100, 'bin')), Buffer.from([0xff, 0x00, 0xfe])]);
    await a.redis.set(binary, 'x');

    const { listed, problems } = await readSlots(cluster, [100, 6000]);

    expect(listed.keys.get(100)).toHaveLength(31);
    expect(listed.keys.get(100)?.some((k) => k.equals(binary))).toBe(true);
    expect(listed.keys.get(6000)).toHaveLength(30);
    expect(problems).toEqual(new Map());
  });

  it('names a key left behind on a node that redirects clients away', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const [owner, other] = cluster.masters as [TestNode, TestNode];
    await writeKeys(owner.redis, 100, 10);
    const stray = keyInSlot(100, 'stray');
    await setslot(other, 100, 'IMPORTING', owner.id);
    await other.redis.call('ASKING');
    await other.redis.set(stray, 'left behind');
    await setslot(other, 100, 'STABLE');

    const { problems } = await readSlots(cluster, [100]);

    expect([...problems.keys()]).toEqual([100]);
    expect(problems.get(100)).toBe(
      `1 of 11 keys cannot be read through the cluster: "${stray}": not found at ${owner.id.slice(0, 8)}, where clients end up, but held by ${other.id.slice(0, 8)}, which sends clients away`,
    );
  });

  it('names keys that go round in a redirect loop (the source gave the slot away, the target still imports it)', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const [source, target] = cluster.masters as [TestNode, TestNode];
    const keys = await writeKeys(source.redis, 609, 3);
    await setslot(target, 609, 'IMPORTING', source.id);
    await setslot(source, 609, 'MIGRATING', target.id);
    await source.redis.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
    await setslot(source, 609, 'NODE', target.id);

    const { problems } = await readSlots(cluster, [609]);

    expect(problems.get(609)).toMatch(/^3 of 3 keys cannot be read through the cluster: .*: redirect loop/);
    expect(problems.get(609)).toContain(`${source.id.slice(0, 8)} → ${target.id.slice(0, 8)}`);
  });

  it('names a key listed before the move that no node has afterwards', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const [owner] = cluster.masters as [TestNode];
    const [gone] = await writeKeys(owner.redis, 200, 5);

    const { problems } = await readSlots(cluster, [200], async () => {
      await owner.redis.del(gone as string);
      await waitFor('the key to be gone', async () => (await owner.redis.exists(gone as string)) === 0);
    });

    expect(problems.get(200)).toBe(
      `1 of 5 keys cannot be read through the cluster: "${gone}": not found at ${owner.id.slice(0, 8)}, where clients end up, nor on any other master (deleted meanwhile, or lost)`,
    );
  });
});
