import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import { botEnv, requestDoc, requestRepair, type SpawnedBot, spawnBot, stopBot } from '../support/bots.js';
import { deleteSlotsEverywhere, waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

let backend: RedisBackend;
let recorder: SlackRecorder;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let queueClient: Redis;
let bot: SpawnedBot;
const prefix = `retire${Date.now()}`;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  [cluster, queue] = await Promise.all([startCluster(backend), startNode(backend, {})]);
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1' });
  bot = await spawnBot(
    botEnv(cluster, recorder, queue.port, await freePort(), prefix, { MONITOR_INTERVAL: '1s' }),
  );
});
afterAll(async () => {
  if (bot) await stopBot(bot);
  queueClient?.disconnect();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

describe('a repair request whose incident closed', () => {
  it('closes itself, says why, and its message loses its approval buttons', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);
    await waitUntilState(cluster.nodes, 'fail');
    await waitFor('the incident', async () => (await queueClient.exists(`${prefix}:incident:prod`)) === 1);
    const id = await requestRepair(recorder, bot.port, queueClient, prefix, 'cover');
    const ts = await waitFor(
      'the request message in Slack',
      async () => (await requestDoc(queueClient, prefix, id)).ts,
    );

    // Someone fixes it by hand before anyone approves.
    await (cluster.masters[0] as TestNode).redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '99');
    await waitUntilState(cluster.nodes, 'ok');

    const closed = await waitFor(
      'the request to close itself',
      async () => {
        const doc = await requestDoc(queueClient, prefix, id);
        return doc.status !== 'pending' && doc;
      },
      { timeoutMs: 30_000 },
    );
    expect(closed.status).toBe('stale');
    expect(closed.outcome).toMatch(/^No longer needed: the cluster recovered at \d\d:\d\d UTC\./);
    const shown = await waitFor('the message to say so', () =>
      recorder
        .calls('chat.update', { ok: true })
        .filter((r) => (r.body as { ts?: string }).ts === ts)
        .map((r) => JSON.stringify(r.body))
        .find((body) => body.includes('No longer needed')),
    );
    expect(shown).not.toContain('approve_repair');
    expect(shown).not.toContain('reject_repair');
  });
});
