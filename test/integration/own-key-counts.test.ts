import { describe, expect, it } from 'vitest';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import { ownCountCommand, parseOwnCounts } from '../../src/core/own-key-counts.js';
import { closeProbe, probeCluster } from '../../src/core/probe.js';
import type { SlotRange } from '../../src/core/slot-ranges.js';
import type { TestNode } from '../support/cluster.js';
import { writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';

const harness = clusterPerTest();

async function ownRanges(node: TestNode): Promise<readonly SlotRange[]> {
  const view = parseClusterNodes(String(await node.redis.call('CLUSTER', 'NODES')));
  if (!view.ok) throw new Error(view.error.message);
  return view.value.find((n) => n.myself)?.slots ?? [];
}

async function countsByHand(node: TestNode, slots: readonly number[]): Promise<Map<number, number>> {
  const expected = new Map<number, number>();
  for (const slot of slots) {
    const keys = Number(await node.redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
    if (keys > 0) expected.set(slot, keys);
  }
  return expected;
}

describe('the own-slot key count a master runs inside its probe', () => {
  it('counts exactly what COUNTKEYSINSLOT says for the ranges it is given, and the probe gives each master its own', async () => {
    const cluster = await harness.start({ replicasPerMaster: 1 });
    const [first, second, third] = cluster.masters;
    if (!first || !second || !third) throw new Error('three masters expected');
    await writeKeys(first.redis, 0, 7);
    await writeKeys(first.redis, 5000, 3);
    await writeKeys(second.redis, 6000, 11);
    await writeKeys(third.redis, 16383, 2);

    for (const master of cluster.masters) {
      const ranges = await ownRanges(master);
      const [command = '', ...args] = ownCountCommand(ranges) ?? [];
      const parsed = parseOwnCounts(await master.redis.call(String(command), ...args));
      const own = parsed?.counted.members() ?? [];
      expect(own.length).toBeGreaterThan(5000);
      expect(parsed?.dbsize).toBe(await master.redis.dbsize());
      expect(parsed?.counts).toEqual(await countsByHand(master, own));
    }
    // Asked about slots it does not own, it counts those (here none hold keys) and says which it counted.
    const [command = '', ...args] = ownCountCommand([[16000, 16010]]) ?? [];
    const elsewhere = parseOwnCounts(await first.redis.call(String(command), ...args));
    expect(elsewhere?.counted.members()).toEqual(Array.from({ length: 11 }, (_, i) => 16000 + i));
    expect(elsewhere?.counts.size).toBe(0);
    expect(ownCountCommand([])).toBeNull();

    // Through the probe: the seed counts its own view's slots, every other master the slots the seed gives it.
    const probe = await probeCluster([first.address]);
    try {
      for (const master of cluster.masters) {
        const view = probe.views.find((v) => v.address === master.address);
        const own = (await ownRanges(master)).flatMap(([start, end]) =>
          Array.from({ length: end - start + 1 }, (_, i) => start + i),
        );
        expect(view?.ownKeys?.counted.members(), master.address).toEqual(own);
        expect(view?.ownKeys?.counts, master.address).toEqual(await countsByHand(master, own));
      }
      for (const replica of cluster.replicas) {
        const view = probe.views.find((v) => v.address === replica.address);
        expect(view?.reachable).toBe(true);
        expect(view?.ownKeys ?? null, `${replica.address} is a replica: nothing to count`).toBeNull();
      }
    } finally {
      closeProbe(probe);
    }
    // A probe that only reads views (a repair's snapshots) asks no node to count.
    const viewsOnly = await probeCluster([first.address], { countOwnKeys: false });
    closeProbe(viewsOnly);
    expect(viewsOnly.views.filter((v) => v.reachable)).toHaveLength(cluster.nodes.length);
    expect(viewsOnly.views.map((v) => v.ownKeys ?? null)).toEqual(cluster.nodes.map(() => null));
  });
});
