import { keySlot } from '../../src/core/key-slot.js';
import { killMasterAndReplicas } from './break.js';
import type { TestCluster, TestNode } from './cluster.js';
import { seedData, type Written } from './data.js';
import { writeKeys } from './keys.js';
import { waitFor } from './wait.js';

export interface LostMaster {
  readonly alive: TestNode[];
  readonly written: Written[];
  /** Slots of the dead master (0-5460) that held keys: their keys are gone with it. */
  readonly lost: Set<number>;
}

/** 2,000 keys over 64 slots, then the first master and its replica die: the take-over scenario with data. */
export async function loseFirstMasterWithData(cluster: TestCluster): Promise<LostMaster> {
  const written = await seedData(
    cluster,
    Array.from({ length: 64 }, (_, i) => i * 256),
    2000,
  );
  const [victim] = cluster.masters as [TestNode];
  const lost = new Set(written.map((w) => keySlot(w.key)).filter((s) => s <= 5460));
  const alive = await killMasterAndReplicas(cluster, victim);
  return { alive, written, lost };
}

/**
 * Cuts a replica off its master while the master keeps serving: the master now wants a password the replica
 * does not have and drops its replica connections, so the replica's link stays down. The cluster bus is
 * untouched; clients already connected keep writing.
 */
export async function cutReplicationLink(master: TestNode, replica: TestNode): Promise<void> {
  await master.redis.call('CONFIG', 'SET', 'requirepass', 'the-replica-does-not-know-it');
  await master.redis.call('CLIENT', 'KILL', 'TYPE', 'replica');
  await waitFor('the replica link to go down', async () =>
    (await replica.redis.info('replication')).includes('master_link_status:down'),
  );
}

/** Writes string keys into `slot` on `master` until the replica's link has been down `seconds`; the keys. */
export async function writeWhileCut(
  master: TestNode,
  replica: TestNode,
  { slot, seconds }: { slot: number; seconds: number },
): Promise<Written[]> {
  const written: Written[] = [];
  await waitFor(
    `the replica link down for ${seconds} s while its master takes writes`,
    async () => {
      const keys = await writeKeys(master.redis, slot, 20, `cut${written.length}-`);
      written.push(
        ...keys.map((key) => ({ key, kind: 'string' as const, value: `value-of-${key}`, ttl: false })),
      );
      const down = /master_link_down_since_seconds:(\d+)/.exec(await replica.redis.info('replication'));
      return Number(down?.[1] ?? 0) >= seconds;
    },
    { timeoutMs: (seconds + 20) * 1000, intervalMs: 250 },
  );
  return written;
}
