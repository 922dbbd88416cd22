import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { deleteSlotsEverywhere, waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'delivery-webhook-token-0123';
const SECRET = 'delivery-secret-0123';
const HOSTILE = '<!channel> <@U0ADMIN> <https://evil.example|Approve here>';
let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let recorder: SlackRecorder;
let probing: Running;
let receiving: Running;
let redis: Redis;
const prefix = `ad${Date.now()}`;
const knownKey = `${prefix}:known-nodes:prod`;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  queue = await startNode(backend, {});
  redis = new Redis({ host: '127.0.0.1', port: queue.port });
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    // One seed only: the other nodes are known only to a bot that has probed the cluster.
    CLUSTERS: `prod=${cluster.masters[0]?.address}`,
    ALERT_CHANNEL: 'C0ALERTS',
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: prefix,
    WEBHOOK_TOKEN: TOKEN,
    MONITOR_INTERVAL: '1h',
    PORT: '0',
  });
  probing = await startSlotwatch(config, pino({ level: 'silent' }));
  receiving = await startSlotwatch(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  redis?.disconnect();
  await probing?.stop();
  await receiving?.stop();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

const alertmanager = (labels: Record<string, string>, summary: string) =>
  JSON.stringify({
    version: '4',
    groupKey: '{}:{alertname="RedisClusterStateNotOk"}',
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'slotwatch',
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'RedisClusterStateNotOk', ...labels },
        annotations: { summary },
        startsAt: new Date().toISOString(),
      },
    ],
  });

async function alert(bot: Running, body: string) {
  const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as { accepted?: string[]; error?: string },
  };
}

let commands = 0;
async function status(bot: Running): Promise<void> {
  const id = `status${++commands}`;
  const ack = await postToSlack(
    bot.port,
    slashCommandBody({ text: 'status prod', responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  expect(ack.status).toBe(200);
  await recorder.nextResponse(id);
}

const metric = async (bot: Running, name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
  return new RegExp(`^${name}\\{cluster="prod"\\} (\\d+)$`, 'm').exec(text)?.[1];
};

/** 16384 minus the slots CLUSTER SLOTS shows owned, as the first master sees it. */
async function uncoveredSlots(): Promise<number> {
  const ranges = (await cluster.masters[0]?.redis.call('CLUSTER', 'SLOTS')) as [number, number][];
  return 16384 - ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
}

describe('outside text in Slack messages', () => {
  it('posts an incident whose alert annotation is escaped, never a mention or a link', async () => {
    // The start-up monitor tick has looked (and found the cluster healthy) once it recorded the nodes.
    await waitFor('the start-up look', async () => (await redis.exists(knownKey)) === 1);
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);
    await waitUntilState(cluster.nodes, 'fail');
    const accepted = await alert(probing, alertmanager({ cluster: 'prod', alertname: HOSTILE }, HOSTILE));
    expect(accepted.status).toBe(202);
    const incident = await waitFor('the incident post', () =>
      recorder.requests.find(
        (r) =>
          r.path === '/api/chat.postMessage' &&
          String((r.body as { text?: string }).text).startsWith(':rotating_light: Incident'),
      ),
    );
    const posted = JSON.stringify(incident.body);
    expect(posted).toContain('&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|Approve here&gt;');
    for (const raw of ['<!channel>', '<@U0ADMIN>', '<https://evil']) expect(posted).not.toContain(raw);
  });

  it('updates slotwatch_slots_uncovered from a diagnosis any door runs', async () => {
    // Its own gap, 50 slots, on top of whatever other tests left: the cluster itself says how many are unowned.
    await deleteSlotsEverywhere(cluster.nodes, 1000, 1049);
    const unowned = await uncoveredSlots();
    expect(unowned).toBeGreaterThanOrEqual(50);
    await status(receiving);
    expect(await metric(receiving, 'slotwatch_slots_uncovered')).toBe(String(unowned));
  });
});

describe('alerts across two bot replicas on one queue Redis', () => {
  it.each(['instance', 'redis_addr'])(
    'matches an alert labelled only with a node address (%s) that the other bot probed',
    async (label) => {
      const address = cluster.masters[2]?.address ?? '';
      const body = alertmanager({ [label]: address }, 'node state not ok');
      // Forget what the start-up monitor tick recorded: only the probing bot's look below may teach it.
      await waitFor('the start-up look', async () => (await redis.exists(knownKey)) === 1);
      await redis.del(knownKey);
      const before = await alert(receiving, body);
      expect(before.status).toBe(422);
      await status(probing);
      const after = await alert(receiving, body);
      expect(after).toEqual({ status: 202, body: { accepted: ['prod'], unmatched: [] } });
    },
  );
});
