import type { Redis } from 'ioredis';
import { parseClusterInfo } from '../../src/core/info.js';
import type { TestCluster, TestNode } from './cluster.js';
import { keyInSlot, writeKeys } from './keys.js';
import { waitFor } from './wait.js';

export async function clusterState(node: TestNode): Promise<'ok' | 'fail'> {
  const info = parseClusterInfo(String(await node.redis.call('CLUSTER', 'INFO')));
  if (!info.ok) throw new Error(info.error.message);
  return info.value.state;
}

export async function flags(observer: TestNode, id: string): Promise<string[]> {
  const text = String(await observer.redis.call('CLUSTER', 'NODES'));
  const line = text.split('\n').find((l) => l.startsWith(id));
  return line?.split(' ')[2]?.split(',') ?? [];
}

/** Waits until every given observer flags the node FAIL. */
export const waitUntilFailed = (observers: readonly TestNode[], dead: TestNode) =>
  waitFor(`${dead.address} flagged fail`, async () => {
    const all = await Promise.all(observers.map((o) => flags(o, dead.id)));
    return all.every((f) => f.includes('fail'));
  });

export const waitUntilState = (nodes: readonly TestNode[], state: 'ok' | 'fail') =>
  waitFor(`cluster_state:${state} on ${nodes.map((n) => n.address).join(', ')}`, async () =>
    (await Promise.all(nodes.map(clusterState))).every((s) => s === state),
  );

/** Kills a master and all its replicas; waits until the survivors agree they failed. */
export async function killMasterAndReplicas(cluster: TestCluster, master: TestNode): Promise<TestNode[]> {
  const dead = [master, ...cluster.replicaOf(master)];
  await Promise.all(dead.map((n) => n.process.kill()));
  const alive = cluster.nodes.filter((n) => !dead.includes(n));
  for (const d of dead) await waitUntilFailed(alive, d);
  await waitUntilState(alive, 'fail');
  return alive;
}

/** CLUSTER DELSLOTSRANGE on every live node, as an operator mistake would. */
export async function deleteSlotsEverywhere(
  nodes: readonly TestNode[],
  start: number,
  end: number,
): Promise<void> {
  await Promise.all(nodes.map((n) => n.redis.call('CLUSTER', 'DELSLOTSRANGE', start, end)));
}

/**
 * Starts moving `slot` from `source` to `target` like redis-cli reshard, and stops half way: MIGRATING on the
 * source, IMPORTING on the target, `moved` of the keys already on the target.
 */
export async function interruptResharding(
  source: TestNode,
  target: TestNode,
  slot: number,
  keys: number,
  moved: number,
): Promise<string[]> {
  const written = await writeKeys(source.redis, slot, keys);
  await target.redis.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
  await source.redis.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
  await source.redis.call(
    'MIGRATE',
    '127.0.0.1',
    target.port,
    '',
    0,
    5000,
    'KEYS',
    ...written.slice(0, moved),
  );
  return written;
}

export const countKeysIn = async (redis: Redis, slot: number): Promise<number> =>
  Number(await redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot));

export { keyInSlot };
