import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { deleteSlotsEverywhere } from '../support/break.js';
import { cli } from '../support/cli.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { startReplicatedQueue, startSentinelTrio } from '../support/sentinel.js';
import { SlackRecorder } from '../support/slack-recorder.js';

// The other queue Redis clients through Sentinel: the CLI's repair lock and the start-up run_id check.

let backend: RedisBackend;
let cluster: TestCluster;

beforeAll(async () => {
  backend = await testBackend();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
});
afterAll(async () => {
  await cluster?.stop();
  await backend?.stopAll();
});

describe('`slotwatch fix` with the queue Redis behind Sentinel', () => {
  it('takes the per-cluster lock on the master the sentinels name after a failover', async () => {
    const queue = await startReplicatedQueue(backend, { replicas: 2 });
    const client = queue.client();
    try {
      await deleteSlotsEverywhere(cluster.nodes, 5000, 5009);
      await queue.failover('kill');
      const env = { ...queue.env(), QUEUE_PREFIX: 'clilock' };
      const args = ['fix', cluster.seeds.join(','), '--option', 'cover-unassigned', '--yes'];
      await client.set('clilock:lock:prod', 'rq-held-by-the-bot', 'PX', 60_000);

      const blocked = await cli([...args, '--cluster-name', 'prod'], env);
      await client.del('clilock:lock:prod');
      const free = await cli([...args, '--cluster-name', 'prod'], env);

      expect(blocked.code).toBe(2);
      expect(blocked.stderr).toContain('another repair (rq-held-by-the-bot) is running on prod');
      expect(free.code).toBe(0);
      expect(await client.exists('clilock:lock:prod')).toBe(0);
    } finally {
      client.disconnect();
      await queue.stop();
    }
  });

  it('exits 2 naming the problem when no sentinel answers', async () => {
    const env = { QUEUE_REDIS_SENTINELS: `127.0.0.1:${await freePort()}`, QUEUE_REDIS_MASTER_NAME: 'q' };
    await deleteSlotsEverywhere(cluster.nodes, 6000, 6009);

    const run = await cli(['fix', cluster.seeds.join(','), '--option', 'cover-unassigned', '--yes'], env);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('cannot reach the queue Redis for the repair lock');
  });

  it('exits 2 naming the variable when only half of the Sentinel settings is given', async () => {
    const run = await cli(['fix', cluster.seeds.join(','), '--option', 'x', '--yes'], {
      QUEUE_REDIS_SENTINELS: '127.0.0.1:26379',
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('QUEUE_REDIS_MASTER_NAME is not set');
  });
});

describe('the start-up check against watched clusters', () => {
  it('refuses a queue Redis whose current master, as the sentinels name it, is a node of a watched cluster', async () => {
    const node = cluster.nodes[1];
    const sentinels = await startSentinelTrio(node?.port ?? 0);
    const recorder = new SlackRecorder();
    await recorder.start();
    try {
      const config = loadConfig({
        SLACK_BOT_TOKEN: 'xoxb-test',
        SLACK_SIGNING_SECRET: 'sentinel-secret-0123',
        SLACK_API_URL: recorder.apiUrl,
        CLUSTERS: `prod=${cluster.seeds.join(',')}`,
        PORT: '0',
        ...sentinels.env(),
      });

      await expect(startSlotwatch(config, pino({ level: 'silent' }))).rejects.toThrow(
        /the master "slotwatch-queue" of QUEUE_REDIS_SENTINELS points at 127\.0\.0\.1:\d+, a node of watched cluster "prod" \(same run_id\)/,
      );
    } finally {
      await recorder.stop();
      await sentinels.stop();
    }
  });
});
