import { Redis } from 'ioredis';
import { parseClusterNodes } from '../../src/core/cluster-nodes.js';
import { parseClusterInfo } from '../../src/core/info.js';
import { SLOT_COUNT } from '../../src/core/slot-ranges.js';
import { freePort } from './free-port.js';
import type { ClientOptions, RedisBackend, RedisConfig, RedisProcess } from './redis-backend.js';
import type { TestTls } from './tls.js';
import { waitFor } from './wait.js';

export interface TestNode {
  readonly port: number;
  readonly busPort: number;
  readonly address: string;
  readonly id: string;
  readonly process: RedisProcess;
  /** A direct (non-cluster) connection; closed by the cluster's stop(). */
  readonly redis: Redis;
}

export interface ClusterOptions {
  readonly masters?: number;
  readonly replicasPerMaster?: number;
  readonly nodeTimeoutMs?: number;
  readonly password?: string;
  readonly config?: RedisConfig;
  /** TLS only: every port, the cluster bus and replication speak TLS. */
  readonly tls?: TestTls;
  /** How long the cluster may take to form and agree (large clusters on a busy machine need more). */
  readonly formTimeoutMs?: number;
}

export interface TestCluster {
  readonly nodes: readonly TestNode[];
  readonly masters: readonly TestNode[];
  readonly replicas: readonly TestNode[];
  readonly seeds: string[];
  replicaOf(master: TestNode): TestNode[];
  node(id: string): TestNode;
  /** A fresh connection to the given node (caller closes it). */
  connect(node: TestNode): Redis;
  stop(): Promise<void>;
}

export const NODE_TIMEOUT_MS = 1500;

function directClient(port: number, { password, tls }: ClientOptions): Redis {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    maxRetriesPerRequest: 1,
    commandTimeout: 5000,
    retryStrategy: () => null,
    lazyConnect: false,
    ...(password ? { password } : {}),
    ...(tls ? { tls } : {}),
  });
  redis.on('error', () => {});
  return redis;
}

/** Starts a redis-server on a free port with an explicit free cluster bus port. */
export async function startNode(
  backend: RedisBackend,
  config: RedisConfig,
  client?: ClientOptions,
): Promise<{ port: number; busPort: number; process: RedisProcess }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const busPort = await freePort();
    try {
      const tlsPort =
        typeof config['tls-cert-file'] === 'string' ? { port: '0', 'tls-port': String(port) } : {};
      const process = await backend.start(
        port,
        {
          bind: '127.0.0.1',
          'protected-mode': 'no',
          save: '',
          appendonly: 'no',
          'cluster-port': String(busPort),
          'repl-diskless-sync-delay': '0',
          ...config,
          ...tlsPort,
        },
        client,
      );
      return { port, busPort, process };
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

const split = (total: number, parts: number): [number, number][] =>
  Array.from({ length: parts }, (_, i) => [
    Math.floor((i * total) / parts),
    Math.floor(((i + 1) * total) / parts) - 1,
  ]);

async function viewOf(redis: Redis) {
  const nodes = parseClusterNodes(String(await redis.call('CLUSTER', 'NODES')));
  const info = parseClusterInfo(String(await redis.call('CLUSTER', 'INFO')));
  if (!nodes.ok || !info.ok) throw new Error('unparseable cluster view');
  return { nodes: nodes.value, info: info.value };
}

/** Every node reports cluster_state:ok, knows everybody (no handshake) and agrees on owners and roles. */
export async function waitUntilHealthy(nodes: readonly TestNode[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    'a healthy, agreeing cluster',
    async () => {
      const views = await Promise.all(nodes.map((n) => viewOf(n.redis)));
      const signature = (v: (typeof views)[number]) =>
        v.nodes
          .map(
            (e) =>
              `${e.id}:${e.masterId}:${e.slots.map((r) => r.join('-')).join(',')}:${e.flags.filter((f) => f !== 'myself').join(',')}`,
          )
          .sort()
          .join('|');
      const first = views[0] ? signature(views[0]) : '';
      return views.every(
        (v) =>
          v.info.state === 'ok' &&
          v.nodes.length === nodes.length &&
          v.nodes.every((e) => !e.flags.some((f) => ['handshake', 'fail', 'fail?', 'noaddr'].includes(f))) &&
          signature(v) === first,
      );
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/** A real Redis Cluster of `masters` masters with `replicasPerMaster` replicas each, formed by hand. */
export async function startCluster(
  backend: RedisBackend,
  options: ClusterOptions = {},
): Promise<TestCluster> {
  const masters = options.masters ?? 3;
  const perMaster = options.replicasPerMaster ?? 1;
  const config = {
    'cluster-enabled': 'yes',
    'cluster-config-file': 'nodes.conf',
    'cluster-node-timeout': String(options.nodeTimeoutMs ?? NODE_TIMEOUT_MS),
    ...(options.password ? { requirepass: options.password, masterauth: options.password } : {}),
    ...(options.tls ? options.tls.serverConfig : {}),
    ...options.config,
  };
  const client: ClientOptions = { password: options.password, tls: options.tls?.clientOptions };
  const formWait = options.formTimeoutMs ? { timeoutMs: options.formTimeoutMs } : {};
  const started = await Promise.all(
    Array.from({ length: masters * (1 + perMaster) }, () => startNode(backend, config, client)),
  );
  const nodes: TestNode[] = [];
  const stop = async () => {
    for (const n of nodes) n.redis.disconnect();
    await Promise.all(started.map((s) => s.process.kill()));
  };
  try {
    for (const s of started) {
      const redis = directClient(s.port, client);
      const id = String(await redis.call('CLUSTER', 'MYID'));
      nodes.push({ ...s, address: `127.0.0.1:${s.port}`, id, redis });
    }
    const masterNodes = nodes.slice(0, masters);
    const replicaNodes = nodes.slice(masters);
    const ranges = split(SLOT_COUNT, masters);
    await Promise.all(
      nodes.map(async (n, i) => {
        await n.redis.call('CLUSTER', 'SET-CONFIG-EPOCH', i + 1);
        const range = ranges[i];
        if (i < masters && range) await n.redis.call('CLUSTER', 'ADDSLOTSRANGE', range[0], range[1]);
      }),
    );
    const [first] = nodes;
    if (!first) throw new Error('no node started');
    for (const n of nodes.slice(1)) await first.redis.call('CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort);
    await waitFor(
      'every node to know every node',
      async () => {
        const views = await Promise.all(nodes.map((n) => viewOf(n.redis)));
        return views.every(
          (v) => v.nodes.length === nodes.length && v.nodes.every((e) => !e.flags.includes('handshake')),
        );
      },
      formWait,
    );
    await Promise.all(
      replicaNodes.map((r, i) =>
        r.redis.call('CLUSTER', 'REPLICATE', (masterNodes[i % masters] as TestNode).id),
      ),
    );
    await waitUntilHealthy(nodes, options.formTimeoutMs);
    await waitFor(
      'replicas in sync',
      async () => {
        const infos = await Promise.all(replicaNodes.map((r) => r.redis.info('replication')));
        return infos.every((info) => info.includes('master_link_status:up'));
      },
      formWait,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const masterNodes = nodes.slice(0, masters);
  const replicaNodes = nodes.slice(masters);
  return {
    nodes,
    masters: masterNodes,
    replicas: replicaNodes,
    seeds: [nodes[0]?.address ?? ''],
    replicaOf: (master) => replicaNodes.filter((_, i) => masterNodes[i % masters] === master),
    node: (id) => {
      const found = nodes.find((n) => n.id === id);
      if (!found) throw new Error(`no node ${id}`);
      return found;
    },
    connect: (node) => directClient(node.port, client),
    stop,
  };
}
