import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import type { RedisBackend, RedisProcess } from './redis-backend.js';
import { waitFor } from './wait.js';

export const MASTER_NAME = 'slotwatch-queue';

export interface QueueNode {
  readonly port: number;
  readonly process: RedisProcess;
}

export interface ReplicatedQueue {
  readonly nodes: readonly QueueNode[];
  readonly sentinelPorts: readonly number[];
  /** QUEUE_REDIS_SENTINELS and QUEUE_REDIS_MASTER_NAME for a bot (QUEUE_REDIS_URL cleared). */
  env(): Record<string, string>;
  /** The port every sentinel names as master right now (throws while they disagree). */
  masterPort(): Promise<number>;
  node(port: number): QueueNode;
  /** A client that follows the master through the sentinels (for the test's own reads); caller closes it. */
  client(): Redis;
  /** A direct connection to one node; caller closes it. */
  direct(port: number): Redis;
  /**
   * A real failover: `SENTINEL FAILOVER` (the old master is demoted and follows), or SIGKILL of the master
   * (it stays dead). Resolves once every sentinel names the new master and it answers as one.
   */
  failover(how: 'sentinel' | 'kill', options?: { beforeWait?: () => Promise<void> }): Promise<number>;
  stop(): Promise<void>;
}

const quietClient = (port: number): Redis => {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  redis.on('error', () => {});
  return redis;
};

async function startSentinel(
  dir: string,
  masterPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, `sentinel-${port}.conf`);
  await writeFile(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 4000`,
      `sentinel parallel-syncs ${MASTER_NAME} 2`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
  const probe = quietClient(port);
  try {
    await waitFor(`sentinel on ${port}`, async () => (await probe.ping()) === 'PONG', { intervalMs: 50 });
  } finally {
    probe.disconnect();
  }
  return { port, child };
}

export interface SentinelTrio {
  readonly sentinels: readonly { readonly port: number; readonly child: ChildProcess }[];
  /** QUEUE_REDIS_SENTINELS and QUEUE_REDIS_MASTER_NAME for a bot (QUEUE_REDIS_URL cleared). */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

/** Three sentinels (quorum 2) watching the Redis on `masterPort` as MASTER_NAME. */
export async function startSentinelTrio(masterPort: number): Promise<SentinelTrio> {
  const dir = await mkdtemp(join(tmpdir(), 'slotwatch-sentinels-'));
  const sentinels = [
    await startSentinel(dir, masterPort),
    await startSentinel(dir, masterPort),
    await startSentinel(dir, masterPort),
  ];
  return {
    sentinels,
    env: () => ({
      QUEUE_REDIS_URL: '',
      QUEUE_REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      QUEUE_REDIS_MASTER_NAME: MASTER_NAME,
    }),
    async stop() {
      await Promise.all(
        sentinels.map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A replicated queue Redis on free loopback ports: one master and `replicas` replicas (AOF on), watched by
 * three sentinels (quorum 2, down after 1 s). Ready when every sentinel knows every replica and the others.
 */
export async function startReplicatedQueue(
  backend: RedisBackend,
  { replicas = 2 }: { replicas?: number } = {},
): Promise<ReplicatedQueue> {
  const config = {
    bind: '127.0.0.1',
    'protected-mode': 'no',
    save: '',
    appendonly: 'yes',
    appendfsync: 'everysec',
    'repl-diskless-sync-delay': '0',
  };
  const masterPort = await freePort();
  const nodes: QueueNode[] = [{ port: masterPort, process: await backend.start(masterPort, config) }];
  for (let i = 0; i < replicas; i++) {
    const port = await freePort();
    nodes.push({
      port,
      process: await backend.start(port, { ...config, replicaof: `127.0.0.1 ${masterPort}` }),
    });
  }
  const trio = await startSentinelTrio(masterPort);
  const { sentinels } = trio;
  const clients = sentinels.map((s) => quietClient(s.port));
  const ask = async (client: Redis, ...args: string[]) => client.call('SENTINEL', ...args);
  await waitFor(
    'the sentinels to know every replica and each other',
    async () => {
      for (const client of clients) {
        const known = (await ask(client, 'REPLICAS', MASTER_NAME)) as unknown[];
        const peers = (await ask(client, 'SENTINELS', MASTER_NAME)) as unknown[];
        if (known.length !== replicas || peers.length !== 2) return false;
      }
      return true;
    },
    { timeoutMs: 30_000 },
  );
  const masterPortNow = async (): Promise<number> => {
    const named = await Promise.all(
      clients.map(async (c) =>
        Number(((await ask(c, 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[])[1]),
      ),
    );
    if (new Set(named).size !== 1) throw new Error(`sentinels disagree on the master: ${named.join(', ')}`);
    return named[0] as number;
  };
  const node = (port: number) => {
    const found = nodes.find((n) => n.port === port);
    if (!found) throw new Error(`no queue node on ${port}`);
    return found;
  };
  const roleOf = async (port: number): Promise<string> => {
    const direct = quietClient(port);
    try {
      return String(((await direct.call('ROLE')) as unknown[])[0]);
    } finally {
      direct.disconnect();
    }
  };
  return {
    nodes,
    sentinelPorts: sentinels.map((s) => s.port),
    env: trio.env,
    masterPort: masterPortNow,
    node,
    client: () => {
      const redis = new Redis({
        sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
        name: MASTER_NAME,
        // Reconnects (through the sentinels, to whichever node is master now) however the old one went away.
        retryStrategy: () => 200,
        sentinelRetryStrategy: () => 200,
        reconnectOnError: (error) => (/^READONLY/.test(error.message) ? 2 : false),
      });
      redis.on('error', () => {});
      return redis;
    },
    direct: quietClient,
    async failover(how, { beforeWait } = {}) {
      const old = await masterPortNow();
      if (how === 'kill') await node(old).process.kill();
      else await ask(clients[0] as Redis, 'FAILOVER', MASTER_NAME);
      await beforeWait?.();
      return waitFor(
        'the sentinels to name a new master',
        async () => {
          const now = await masterPortNow();
          return now !== old && (await roleOf(now)) === 'master' && now;
        },
        { timeoutMs: 30_000 },
      );
    },
    async stop() {
      for (const client of clients) client.disconnect();
      await trio.stop();
      for (const n of nodes) await n.process.kill();
    },
  };
}
