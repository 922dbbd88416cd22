import { Redis } from 'ioredis';
import { keySlot } from '../../src/core/key-slot.js';
import { killMasterAndReplicas } from './break.js';
import { NODE_TIMEOUT_MS, type TestCluster, type TestNode } from './cluster.js';
import { seedData, type Written } from './data.js';
import { writeKeys } from './keys.js';
import type { RedisBackend, RedisProcess } from './redis-backend.js';
import { waitFor } from './wait.js';

export interface LostMaster {
  readonly alive: TestNode[];
  readonly written: Written[];
  /** Slots of the dead master (0-5460) that held keys: their keys are gone with it. */
  readonly lost: Set<number>;
  readonly victim: TestNode;
  /** Where the victim saved its RDB and nodes.conf before it died (with `keepData`), else null. */
  readonly dir: string | null;
}

/**
 * 2,000 keys over 64 slots, then the first master and its replica die: the take-over scenario with data.
 * `keepData`: the master saves an RDB first, so that it can be restarted with its keys (restartWithData).
 */
export async function loseFirstMasterWithData(
  cluster: TestCluster,
  { keepData = false }: { keepData?: boolean } = {},
): Promise<LostMaster> {
  const written = await seedData(
    cluster,
    Array.from({ length: 64 }, (_, i) => i * 256),
    2000,
  );
  const [victim] = cluster.masters as [TestNode];
  const lost = new Set(written.map((w) => keySlot(w.key)).filter((s) => s <= 5460));
  let dir: string | null = null;
  if (keepData) {
    await victim.redis.call('SAVE');
    dir = String(((await victim.redis.call('CONFIG', 'GET', 'dir')) as string[])[1]);
  }
  const alive = await killMasterAndReplicas(cluster, victim);
  return { alive, written, lost, victim, dir };
}

/** Starts a dead cluster node again on its ports, from the RDB and nodes.conf it left in `dir`. */
export async function restartWithData(
  backend: RedisBackend,
  node: TestNode,
  dir: string,
): Promise<{ process: RedisProcess; redis: Redis }> {
  const process = await backend.start(node.port, {
    bind: '127.0.0.1',
    'protected-mode': 'no',
    save: '',
    appendonly: 'no',
    'cluster-enabled': 'yes',
    'cluster-config-file': 'nodes.conf',
    'cluster-node-timeout': String(NODE_TIMEOUT_MS),
    'cluster-port': String(node.busPort),
    'repl-diskless-sync-delay': '0',
    dir,
  });
  const redis = new Redis({
    port: node.port,
    host: '127.0.0.1',
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  return { process, redis };
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
