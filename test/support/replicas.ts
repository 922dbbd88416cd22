import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { probeOptions } from '../../src/cluster-probe.js';
import { diagnose } from '../../src/core/diagnose.js';
import type { TestCluster } from './cluster.js';

const run = promisify(execFile);

/** How many CLUSTER NODES this node has answered since it started (`INFO commandstats`). */
export async function clusterNodesCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_cluster\|nodes:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

/** CLUSTER NODES calls one probe (the bot's own diagnosis, same options) costs on one node of `cluster`. */
export async function callsPerProbe(cluster: TestCluster, name = 'probe-cost'): Promise<number> {
  const node = cluster.nodes[0];
  if (!node) throw new Error('empty cluster');
  const before = await clusterNodesCalls(node.redis);
  const seeds = cluster.nodes.map((n) => n.address);
  const result = await diagnose(seeds, probeOptions({ name, seeds, channel: null }));
  if (!result.ok) throw new Error(`probe failed: ${result.error.message}`);
  return (await clusterNodesCalls(node.redis)) - before;
}

/** Which of `pids` hold an established TCP connection to this loopback port (from `ss`). */
export async function connectedPids(port: number, pids: readonly number[]): Promise<number[]> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', `( dport = :${port} )`]);
  const found = new Set([...stdout.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
  return pids.filter((pid) => found.has(pid));
}

/** `CLUSTERS` for several test clusters: `name=host:port,…;name2=…`. */
export const clustersVar = (clusters: Readonly<Record<string, TestCluster>>): string =>
  Object.entries(clusters)
    .map(([name, c]) => `${name}=${c.nodes.map((n) => n.address).join(',')}`)
    .join(';');
