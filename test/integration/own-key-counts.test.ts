import { describe, expect, it } from 'vitest';
import { OWN_COUNT_SCRIPT, parseOwnCounts } from '../../src/core/own-key-counts.js';
import { writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

describe('the own-slot key count a node runs inside its probe', () => {
  it('counts exactly what COUNTKEYSINSLOT says for every slot a master owns, and nothing on a replica', async () => {
    const cluster = await harness.start({ replicasPerMaster: 1 });
    const [first, second] = cluster.masters;
    if (!first || !second) throw new Error('two masters expected');
    await writeKeys(first.redis, 0, 7);
    await writeKeys(first.redis, 5000, 3);
    await writeKeys(second.redis, 6000, 11);

    for (const master of cluster.masters) {
      const parsed = parseOwnCounts(await master.redis.call('EVAL_RO', OWN_COUNT_SCRIPT, 0));
      const own = parsed?.counted.members() ?? [];
      const expected = new Map<number, number>();
      for (const slot of own) {
        const keys = Number(await master.redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot));
        if (keys > 0) expected.set(slot, keys);
      }
      expect(parsed?.dbsize).toBe(await master.redis.dbsize());
      expect(own.length).toBeGreaterThan(5000);
      expect(parsed?.counts).toEqual(expected);
    }
    const replica = cluster.replicaOf(first)[0];
    if (!replica) throw new Error('a replica expected');
    await waitFor('the replica to hold the 10 keys', async () => (await replica.redis.dbsize()) === 10);
    const onReplica = parseOwnCounts(await replica.redis.call('EVAL_RO', OWN_COUNT_SCRIPT, 0));
    expect(onReplica?.dbsize).toBe(10);
    expect(onReplica?.counted.members()).toEqual([]);
  });
});
