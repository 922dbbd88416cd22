import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { flags, waitUntilFailed } from '../support/break.js';
import { NODE_TIMEOUT_MS, startNode, type TestNode, waitUntilHealthy } from '../support/cluster.js';
import { checkData, seedData } from '../support/data.js';
import { writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { cutReplicationLink, writeWhileCut } from '../support/lost-master.js';
import type { RedisConfig } from '../support/redis-backend.js';
import { planFor, repair, report } from '../support/repair.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

const CLUSTER_CONFIG: RedisConfig = {
  'cluster-enabled': 'yes',
  'cluster-config-file': 'nodes.conf',
  'cluster-node-timeout': String(NODE_TIMEOUT_MS),
};

function client(port: number): Redis {
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  return redis;
}

/** A running node as the harness describes one, for a process this test starts itself. */
async function testNode(started: Awaited<ReturnType<typeof startNode>>): Promise<TestNode> {
  const redis = client(started.port);
  const id = String(await redis.call('CLUSTER', 'MYID'));
  return { ...started, address: `127.0.0.1:${started.port}`, id, redis };
}

const replicationOf = async (node: TestNode) => String(await node.redis.info('replication'));

describe('failover safety, decided from the replica itself', () => {
  it('calls failing over to a replica that never synced data loss, and a restart from the AOF keeps every key', async () => {
    const cluster = await harness.start({ masters: 3, replicasPerMaster: 0 });
    const [master, ...others] = cluster.masters;
    if (!master) throw new Error('no master');
    const spare = await testNode(await startNode(harness.backend, CLUSTER_CONFIG));
    const restarted: TestNode[] = [];
    try {
      await master.redis.call('CONFIG', 'SET', 'appendonly', 'yes');
      await waitFor('the AOF to be written', async () => {
        const info = String(await master.redis.info('persistence'));
        return info.includes('aof_enabled:1') && info.includes('aof_rewrite_in_progress:0');
      });
      const written = await seedData(cluster, range(0, 99), 2000);
      const dir = ((await master.redis.call('CONFIG', 'GET', 'dir')) as string[])[1] ?? '';
      // The replica's first sync waits a minute: the master dies long before it starts.
      await master.redis.call('CONFIG', 'SET', 'repl-diskless-sync', 'yes', 'repl-diskless-sync-delay', '60');
      await spare.redis.call('CLUSTER', 'MEET', '127.0.0.1', master.port, master.busPort);
      const everyone = [...cluster.masters, spare];
      await waitFor('every node to know the spare', async () => {
        const views = await Promise.all(everyone.map((n) => flags(n, spare.id)));
        return views.every((f) => f.length > 0 && !f.includes('handshake'));
      });
      await spare.redis.call('CLUSTER', 'REPLICATE', master.id);
      await waitFor('the spare to be a replica everywhere, waiting for its first sync', async () => {
        const views = await Promise.all(everyone.map((n) => n.redis.call('CLUSTER', 'NODES')));
        const listed = views.every((v) =>
          String(v)
            .split('\n')
            .some((l) => l.startsWith(spare.id) && l.includes('slave') && l.includes(master.id)),
        );
        return listed && (await master.redis.info('replication')).includes('state=wait_bgsave');
      });

      await master.process.kill();
      const survivors = [...others, spare];
      await waitUntilFailed(survivors, master);
      expect(await replicationOf(spare)).toContain('master_link_down_since_seconds:-1');
      const seeds = survivors.map((n) => n.address);
      const before = await report(seeds);
      const option = await planFor(seeds, 'failover');
      const refused = await repair(option, seeds);

      expect(before.nodes.find((n) => n.id === spare.id)).toMatchObject({
        role: 'replica',
        replicaSynced: false,
        replicaUpToDate: false,
        dbsize: 0,
      });
      expect(before.slots.gaps).toEqual([
        { start: 0, end: 5460, reason: 'owner-failed', owner: master.id, keys: null },
      ]);
      expect(before.findings.find((f) => f.code === 'SLOTS_OWNER_FAILED')?.next).toMatch(
        /^Restart .* from its RDB\/AOF first/,
      );
      expect(option.risk).toBe('data-loss');
      expect(option.explanation).toMatch(
        new RegExp(
          `^Restart ${master.address} \\(${master.id.slice(0, 8)}\\) from its RDB/AOF first if it can come back: that loses nothing\\.`,
        ),
      );
      expect(option.loss).toMatchObject({ slots: [[0, 5460]], keys: null });
      expect(refused.status).toBe('refused');

      const back = await testNode({
        port: master.port,
        busPort: master.busPort,
        process: await harness.backend.start(master.port, {
          ...CLUSTER_CONFIG,
          'cluster-port': String(master.busPort),
          bind: '127.0.0.1',
          'protected-mode': 'no',
          save: '',
          appendonly: 'yes',
          dir,
          'repl-diskless-sync-delay': '0',
        }),
      });
      restarted.push(back);
      await waitUntilHealthy([back, ...survivors]);
      // Once synced, the replica may still win the election its master's FAIL flag allows: either way both hold every key.
      await waitFor('the replica to sync at last', async () => {
        const [a, b] = await Promise.all([replicationOf(spare), replicationOf(back)]);
        const synced = [a, b].some((r) => r.includes('master_link_status:up'));
        return synced && (await spare.redis.dbsize()) === 2000 && (await back.redis.dbsize()) === 2000;
      });
      await waitUntilHealthy([back, ...survivors]);
      const data = await checkData(cluster, written);

      expect(data).toMatchObject({ intact: 2000, wrong: [] });
    } finally {
      for (const node of [spare, ...restarted]) {
        node.redis.disconnect();
        await node.process.kill();
      }
    }
  });
});

/** Every node with AOF on; replicas never fail over by themselves, so the plan decides. */
const NO_AUTO_FAILOVER: RedisConfig = { appendonly: 'yes', 'cluster-replica-no-failover': 'yes' };

/** `slotwatch` as its own process (the installed bin): exit code and streams. */
async function slotwatch(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['bin/slotwatch.js', ...args]).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** The replication offset `replica` last heard `masterId` announce on the cluster bus (its CLUSTER SHARDS). */
async function announcedOffset(replica: TestNode, masterId: string): Promise<number> {
  const reply = (await replica.redis.call('CLUSTER', 'SHARDS')) as unknown[][];
  for (const shard of reply) {
    for (const node of (shard[shard.indexOf('nodes') + 1] ?? []) as unknown[][]) {
      if (node[node.indexOf('id') + 1] === masterId)
        return Number(node[node.indexOf('replication-offset') + 1]);
    }
  }
  return 0;
}

/** Three masters with a replica each, automatic failover off, keys in 64 slots: the first master and its replica. */
async function seededPair() {
  const cluster = await harness.start({ masters: 3, replicasPerMaster: 1, config: NO_AUTO_FAILOVER });
  const [master, ...others] = cluster.masters as [TestNode, ...TestNode[]];
  const [replica] = cluster.replicaOf(master) as [TestNode];
  const seeded = await seedData(
    cluster,
    range(0, 63).map((i) => i * 256),
    1000,
  );
  return { cluster, master, others, replica, seeded };
}

const roleOf = async (node: TestNode) => ((await node.redis.call('ROLE')) as unknown[])[0];

describe('failover safety, decided from when the replica lost its link', () => {
  it('calls failing over to a replica cut off before its master died data loss; the CLI refuses it, a restart keeps every key', async () => {
    const { cluster, master, others, replica, seeded } = await seededPair();
    const restarted: TestNode[] = [];
    try {
      const dir = ((await master.redis.call('CONFIG', 'GET', 'dir')) as string[])[1] ?? '';
      await cutReplicationLink(master, replica);
      // The master keeps taking writes for 10 s that the replica never gets.
      const missed = await writeWhileCut(master, replica, { slot: 1000, seconds: 10 });
      expect(await replica.redis.dbsize()).toBeLessThan(await master.redis.dbsize());

      await master.process.kill();
      const survivors = [...others, ...cluster.replicas];
      await waitUntilFailed(survivors, master);
      const seeds = survivors.map((n) => n.address);
      const before = await report(seeds);
      const option = await planFor(seeds, 'failover');
      const refused = await slotwatch(['fix', seeds.join(','), '--option', option.id, '--yes']);

      expect(before.nodes.find((n) => n.id === replica.id)).toMatchObject({
        role: 'replica',
        replicaSynced: true,
        replicaUpToDate: false,
      });
      expect(option.risk).toBe('data-loss');
      expect(option.explanation).toMatch(
        new RegExp(
          `^Restart ${master.address} \\(${master.id.slice(0, 8)}\\) from its RDB/AOF first if it can come back: that loses nothing\\.`,
        ),
      );
      const early =
        /lost its replication link (\d+) s before [^;]+ went silent; writes in between are lost/.exec(
          option.explanation,
        );
      expect(Number(early?.[1])).toBeGreaterThanOrEqual(8);
      expect(option.loss).toMatchObject({ slots: [[0, 5460]], keys: null });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/loses data .*add --accept-data-loss/);
      expect(await roleOf(replica)).toBe('slave');

      const back = await testNode({
        port: master.port,
        busPort: master.busPort,
        process: await harness.backend.start(master.port, {
          ...CLUSTER_CONFIG,
          ...NO_AUTO_FAILOVER,
          'cluster-port': String(master.busPort),
          bind: '127.0.0.1',
          'protected-mode': 'no',
          save: '',
          dir,
          'repl-diskless-sync-delay': '0',
        }),
      });
      restarted.push(back);
      await waitUntilHealthy([back, ...survivors]);
      await waitFor('the replica to sync from the restarted master', async () =>
        (await replicationOf(replica)).includes('master_link_status:up'),
      );
      const data = await checkData(cluster, [...seeded, ...missed]);

      expect(await roleOf(back)).toBe('master');
      expect(data).toMatchObject({ intact: seeded.length + missed.length, wrong: [] });
    } finally {
      for (const node of restarted) {
        node.redis.disconnect();
        await node.process.kill();
      }
    }
  });

  it('still offers a safe failover to a replica whose link was up until its master was killed', async () => {
    const { cluster, master, others, replica } = await seededPair();
    const masterOffset = async () =>
      Number(/master_repl_offset:(\d+)/.exec(await master.redis.info('replication'))?.[1] ?? Number.NaN);
    // The cluster bus tells a node's offset with every ping: wait for one that carries the writes.
    await waitFor(
      'the replica to hear the master announce its offset',
      async () => (await announcedOffset(replica, master.id)) >= (await masterOffset()),
    );

    await master.process.kill();
    const survivors = [...others, ...cluster.replicas];
    await waitUntilFailed(survivors, master);
    const seeds = survivors.map((n) => n.address);
    const before = await report(seeds);
    const option = await planFor(seeds, 'failover');

    expect(before.nodes.find((n) => n.id === replica.id)).toMatchObject({
      replicaSynced: true,
      replicaUpToDate: true,
    });
    // INFO tells the link's down time in whole seconds, the bus the master's silence in ms: ±1 s of rounding.
    expect(before.nodes.find((n) => n.id === replica.id)?.replicaLinkDownSeconds).toBeLessThanOrEqual(1);
    expect(option.risk).toBe('safe');
    expect(option.explanation).toMatch(/^Its replication link stayed up until/);
    // The replica told what the dead master last announced on the cluster bus (CLUSTER SHARDS).
    const announced = before.nodes.find((n) => n.id === master.id)?.lastKnownOffset;
    expect(announced).toBeGreaterThan(0);
    expect(option.explanation).toContain(`the last offset the master was known to have (${announced},`);
  });

  it('calls failing over data loss when the replica lagged behind the offset its master announced, its link up until the master died', async () => {
    const { cluster, master, others, replica } = await seededPair();
    const replicaOffset = async () =>
      Number(/slave_repl_offset:(\d+)/.exec(await replicationOf(replica))?.[1] ?? Number.NaN);
    // The replica holds back the replication stream (its master's commands are writes) but keeps its link
    // and the cluster bus: it hears the master announce offsets it has not applied.
    await replica.redis.call('CLIENT', 'PAUSE', '60000', 'WRITE');
    let lagging = 0;
    await waitFor('the master to announce an offset well ahead of the paused replica', async () => {
      await writeKeys(master.redis, 1000, 200, `lag${lagging}-`);
      lagging += 1;
      return (await announcedOffset(replica, master.id)) - (await replicaOffset()) > 64 * 1024;
    });
    expect(await replicationOf(replica)).toContain('master_link_status:up');
    const announcedBeforeDeath = await announcedOffset(replica, master.id);
    const keysOnMaster = await master.redis.dbsize();

    await master.process.kill();
    await replica.redis.call('CLIENT', 'UNPAUSE');
    const survivors = [...others, ...cluster.replicas];
    await waitUntilFailed(survivors, master);
    const seeds = survivors.map((n) => n.address);
    const before = await report(seeds);
    const option = await planFor(seeds, 'failover');

    // The link timing alone would call it safe: it went down when the master died.
    expect(before.nodes.find((n) => n.id === replica.id)).toMatchObject({
      replicaSynced: true,
      replicaUpToDate: true,
    });
    expect(before.nodes.find((n) => n.id === master.id)?.lastKnownOffset).toBeGreaterThanOrEqual(
      announcedBeforeDeath,
    );
    expect(option.risk).toBe('data-loss');
    expect(option.explanation).toMatch(
      /^Restart .* from its RDB\/AOF first if it can come back: that loses nothing\./,
    );
    expect(option.explanation).toMatch(
      /is \d+ bytes behind the last offset .* was known to have \(\d+\); writes in between are lost/,
    );
    expect(await replica.redis.dbsize()).toBeLessThan(keysOnMaster);
  });
});
