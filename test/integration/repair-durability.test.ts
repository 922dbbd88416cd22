import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { ALICE, BOB, botEnv, click, requestDoc, requestRepair, SECRET } from '../support/bots.js';
import { killMasterAndReplicas } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

let backend: RedisBackend;
let recorder: SlackRecorder;
let queue: { port: number; process: RedisProcess };
let queueClient: Redis;
let counter = 0;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  queue = await startNode(backend, {});
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1' });
});
afterAll(async () => {
  queueClient?.disconnect();
  await recorder?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

const env = (cluster: TestCluster, port: number, prefix: string) =>
  botEnv(cluster, recorder, queue.port, port, prefix, { ALERT_CHANNEL: 'C0ALERTS' });

/** As Carol: Request the take-over; then Alice and Bob approve. Returns the request id. */
async function requestTakeOverAndApprove(port: number, prefix: string): Promise<string> {
  const id = await requestRepair(recorder, port, queueClient, prefix, 'take-over');
  await click(recorder, port, 'approve_repair', id, ALICE);
  await click(recorder, port, 'approve_repair', id, BOB);
  return id;
}

describe('durability of approved repairs', () => {
  it('keeps /redis status working while the queue Redis is down and says repairs are unavailable', async () => {
    const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
    const spare = await startNode(backend, {});
    const bot = await startSlotwatch(
      loadConfig({
        ...env(cluster, 0, `down${Date.now()}`),
        QUEUE_REDIS_URL: `redis://127.0.0.1:${spare.port}`,
      }),
      pino({ level: 'silent' }),
    );
    try {
      await spare.process.kill();
      const status = `s${++counter}`;
      await postToSlack(
        bot.port,
        slashCommandBody({ text: 'status', responseUrl: recorder.responseUrl(status) }),
        { secret: SECRET },
      );
      const fix = `f${++counter}`;
      await postToSlack(bot.port, slashCommandBody({ text: 'fix', responseUrl: recorder.responseUrl(fix) }), {
        secret: SECRET,
      });
      expect(((await recorder.nextResponse(status)).body as { response_type: string }).response_type).toBe(
        'in_channel',
      );
      expect(((await recorder.nextResponse(fix)).body as { text: string }).text).toContain(
        'the queue Redis does not answer',
      );
      const alert = await fetch(`http://127.0.0.1:${bot.port}/webhooks/generic`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer durability-webhook-token-0123',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ cluster: 'prod', status: 'firing' }),
      });
      // Alertmanager retries 5xx only: 503 means the alert is not lost.
      expect(alert.status).toBe(503);
      expect(await alert.json()).toMatchObject({
        error: expect.stringContaining('cannot queue the work right now'),
      });
      const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        status: 'degraded',
        dependencies: { queueRedis: { ok: false } },
      });
    } finally {
      await bot.stop();
      await cluster.stop();
    }
  });

  it('refuses to start when the queue Redis is a node of a watched cluster, compared by run_id', async () => {
    const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
    try {
      const node = cluster.nodes[1];
      const vars = {
        ...env(cluster, 0, 'clash'),
        CLUSTERS: `prod=${cluster.seeds.join(',')}`,
        QUEUE_REDIS_URL: `redis://localhost:${node?.port}`,
      };
      await expect(startSlotwatch(loadConfig(vars), pino({ level: 'silent' }))).rejects.toThrow(
        /QUEUE_REDIS_URL points at 127\.0\.0\.1:\d+, a node of watched cluster "prod" \(same run_id\)/,
      );
    } finally {
      await cluster.stop();
    }
  });

  it('stops a running repair between steps when an approver cancels it, and says where', async () => {
    const cluster = await startCluster(backend);
    const prefix = `cancel${Date.now()}`;
    const bot = await startSlotwatch(loadConfig(env(cluster, 0, prefix)), pino({ level: 'silent' }));
    try {
      const [victim] = cluster.masters;
      if (!victim) throw new Error('no master');
      await killMasterAndReplicas(cluster, victim);
      const id = await requestTakeOverAndApprove(bot.port, prefix);
      await waitFor(
        'the repair to start',
        async () => (await requestDoc(queueClient, prefix, id)).status === 'running',
        {
          intervalMs: 10,
        },
      );

      const stranger = `x${++counter}`;
      await postToSlack(
        bot.port,
        buttonClickBody({
          actionId: 'cancel_repair',
          value: id,
          user: 'U0NOBODY1',
          responseUrl: recorder.responseUrl(stranger),
        }),
        { secret: SECRET },
      );
      expect(((await recorder.nextResponse(stranger)).body as { text: string }).text).toContain(
        'Only approvers can cancel',
      );
      await click(recorder, bot.port, 'cancel_repair', id, ALICE);

      const stopped = await waitFor(
        'the cancellation',
        async () => {
          const doc = await requestDoc(queueClient, prefix, id);
          return ['cancelled', 'done'].includes(doc.status) && doc;
        },
        { timeoutMs: 30_000 },
      );
      expect(stopped.status).toBe('cancelled');
      expect(stopped.outcome).toMatch(/^Cancelled before step \d+\./);
      const events = (await queueClient.xrange(`${prefix}:audit`, '-', '+')).map(([, f]) => f[1]);
      expect(events.filter((e) => e === 'cancelled')).toHaveLength(2);
    } finally {
      await bot.stop();
      await cluster.stop();
    }
  });
});
