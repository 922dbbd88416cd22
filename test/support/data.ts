import { Cluster } from 'ioredis';
import { keySlot } from '../../src/core/key-slot.js';
import type { TestCluster, TestNode } from './cluster.js';
import { keyInSlot } from './keys.js';

type Kind = 'string' | 'hash' | 'list' | 'set' | 'zset';
const KINDS: readonly Kind[] = ['string', 'hash', 'list', 'set', 'zset'];

/** What a key held when it was written, to compare after a repair. */
export interface Written {
  readonly key: string;
  readonly kind: Kind;
  readonly value: unknown;
  readonly ttl: boolean;
}

function valueFor(kind: Kind, i: number): unknown {
  switch (kind) {
    case 'string':
      return `v${i}-${'x'.repeat(i % 17)}`;
    case 'hash':
      return { f1: `a${i}`, f2: `b${i}` };
    case 'list':
      return [`l${i}`, `m${i}`, `n${i}`];
    case 'set':
      return [`s${i}`, `t${i}`].sort();
    case 'zset':
      return [`z${i}`, String(i % 100)];
  }
}

function writeCommand(w: Written): (string | number)[][] {
  const v = w.value as never;
  const commands: (string | number)[][] = (() => {
    switch (w.kind) {
      case 'string':
        return [['SET', w.key, v]];
      case 'hash':
        return [['HSET', w.key, ...Object.entries(v as Record<string, string>).flat()]];
      case 'list':
        return [['RPUSH', w.key, ...(v as string[])]];
      case 'set':
        return [['SADD', w.key, ...(v as string[])]];
      case 'zset': {
        const [member, score] = v as string[];
        return [['ZADD', w.key, score ?? '0', member ?? '']];
      }
    }
  })();
  return w.ttl ? [...commands, ['EXPIRE', w.key, 3600]] : commands;
}

/** Which live master owns each slot, from one node's CLUSTER SLOTS. */
async function slotOwners(cluster: TestCluster, via: TestNode): Promise<Map<number, TestNode>> {
  const owners = new Map<number, TestNode>();
  const reply = (await via.redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  for (const [start, end, [, port]] of reply) {
    const node = cluster.nodes.find((n) => n.port === port);
    if (node) for (let s = start; s <= end; s++) owners.set(s, node);
  }
  return owners;
}

/**
 * Writes `count` keys of five types (a fifth with a TTL) spread over `slots`, each straight to its owner.
 * Waits until replicas have them (WAIT), so a failover keeps them.
 */
export async function seedData(
  cluster: TestCluster,
  slots: readonly number[],
  count: number,
): Promise<Written[]> {
  const owners = await slotOwners(cluster, cluster.masters[0] as TestNode);
  const written: Written[] = Array.from({ length: count }, (_, i) => {
    const kind = KINDS[i % KINDS.length] as Kind;
    return {
      key: keyInSlot(slots[i % slots.length] as number, `d${i}`),
      kind,
      value: valueFor(kind, i),
      ttl: i % 5 === 3,
    };
  });
  const byOwner = new Map<TestNode, Written[]>();
  for (const w of written) {
    const owner = owners.get(keySlot(w.key));
    if (!owner) throw new Error(`slot ${keySlot(w.key)} has no owner to write to`);
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), w]);
  }
  for (const [owner, items] of byOwner) {
    for (let i = 0; i < items.length; i += 1000) {
      const pipeline = owner.redis.pipeline(
        items
          .slice(i, i + 1000)
          .flatMap(writeCommand)
          .map((c) => ['call', ...c]),
      );
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    }
    const replicas = cluster.replicaOf(owner).length;
    if (replicas > 0) await owner.redis.call('WAIT', replicas, 5000);
  }
  return written;
}

async function read(client: Cluster, w: Written): Promise<{ kind: string; value: unknown }> {
  const kind = await client.type(w.key);
  switch (kind) {
    case 'string':
      return { kind, value: await client.get(w.key) };
    case 'hash':
      return { kind, value: await client.hgetall(w.key) };
    case 'list':
      return { kind, value: await client.lrange(w.key, 0, -1) };
    case 'set':
      return { kind, value: (await client.smembers(w.key)).sort() };
    case 'zset':
      // RESP3 answers WITHSCORES as [member, score] pairs; flatten to the RESP2 shape it was written in.
      return {
        kind,
        value: ((await client.call('ZRANGE', w.key, '0', '-1', 'WITHSCORES')) as unknown[])
          .flat()
          .map(String),
      };
    default:
      return { kind, value: null };
  }
}

export interface DataCheck {
  readonly intact: number;
  /** Keys that read back wrong (not in a lost slot). */
  readonly wrong: readonly string[];
  /** Keys in lost slots that still exist (they should be gone with their slots). */
  readonly survivedLoss: readonly string[];
  readonly lost: number;
}

/** Reads every key back through a cluster client (autopipelined) and compares type and value. */
export async function checkData(
  cluster: TestCluster,
  written: readonly Written[],
  lostSlots: ReadonlySet<number> = new Set(),
): Promise<DataCheck> {
  const live = cluster.nodes.filter((n) => n.redis.status === 'ready');
  const client = new Cluster(
    live.map((n) => ({ host: '127.0.0.1', port: n.port })),
    {
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 2 },
      clusterRetryStrategy: () => null,
    },
  );
  client.on('error', () => {});
  try {
    const wrong: string[] = [];
    const survived: string[] = [];
    let intact = 0;
    let lost = 0;
    await Promise.all(
      written.map(async (w) => {
        const got = await read(client, w);
        if (lostSlots.has(keySlot(w.key))) {
          if (got.kind === 'none') lost++;
          else survived.push(w.key);
          return;
        }
        if (got.kind === w.kind && JSON.stringify(got.value) === JSON.stringify(w.value)) intact++;
        else wrong.push(w.key);
      }),
    );
    return { intact, wrong, survivedLoss: survived, lost };
  } finally {
    client.disconnect();
  }
}
