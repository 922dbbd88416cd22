import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { executeRepair } from '../../src/core/repair/execute.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { type SpawnedBot, spawnBot, stopBot } from '../support/bots.js';
import { deleteSlotsEverywhere, killMasterAndReplicas, waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { PROBE, report } from '../support/repair.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'webhook-token-0123456789abcdef';
const HMAC = 'grafana-hmac-secret';
let backend: RedisBackend;
/** One cluster per story, so that no test depends on what another did to its cluster. */
let cluster: TestCluster;
let storm: TestCluster;
let rec: TestCluster;
let queue: { port: number; process: RedisProcess };
let recorder: SlackRecorder;
let bot: Running;
let second: SpawnedBot;
const prefix = `al${Date.now()}`;

function env(port: number): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'alerts-secret-0123',
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: [
      `prod=${cluster.nodes.map((n) => n.address).join(',')}`,
      `storm=${storm.nodes.map((n) => n.address).join(',')}`,
      `rec=${rec.nodes.map((n) => n.address).join(',')}`,
    ].join(';'),
    ALERT_CHANNEL: 'C0ALERTS',
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: prefix,
    WEBHOOK_TOKEN: TOKEN,
    GRAFANA_HMAC_SECRET: HMAC,
    MONITOR_INTERVAL: '1s',
    PORT: String(port),
    LOG_LEVEL: 'warn',
  };
}

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  [cluster, storm, rec] = await Promise.all([
    startCluster(backend),
    startCluster(backend),
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
  ]);
  queue = await startNode(backend, {});
  bot = await startSlotwatch(loadConfig(env(0)), pino({ level: 'silent' }));
  // A second bot process on the same queue Redis: together they must still post once.
  second = await spawnBot({ PATH: process.env.PATH ?? '', ...env(await freePort()) });
});

afterAll(async () => {
  try {
    if (second) await stopBot(second);
  } finally {
    await bot?.stop();
    await recorder?.stop();
    for (const c of [cluster, storm, rec]) await c?.stop();
    await queue?.process.kill();
    await backend?.stopAll();
  }
});

const alert = (status: 'firing' | 'resolved', labels: Record<string, string>) => ({
  status,
  labels: { alertname: 'RedisClusterStateNotOk', severity: 'critical', ...labels },
  annotations: { summary: 'Redis cluster state is not ok' },
  startsAt: new Date().toISOString(),
  fingerprint: 'abc',
});

const alertmanager = (alerts: unknown[], status: 'firing' | 'resolved' = 'firing') => ({
  version: '4',
  groupKey: '{}:{alertname="RedisClusterStateNotOk"}',
  truncatedAlerts: 0,
  status,
  receiver: 'slotwatch',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://alertmanager:9093',
  alerts,
});

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
  port = bot.port,
) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: string; accepted?: string[]; unmatched?: string[] },
  };
}

const incidentPosts = (name: string) =>
  recorder.requests.filter(
    (r) =>
      r.path === '/api/chat.postMessage' &&
      String((r.body as { text?: string }).text).startsWith(`:rotating_light: Incident: ${name}:`),
  );
const threadPosts = () =>
  recorder.requests.filter(
    (r) => r.path === '/api/chat.postMessage' && (r.body as { thread_ts?: string }).thread_ts,
  );
/** "A, B fired, but Slotwatch sees prod healthy…" posts that name `alert` (one post may name several). */
const healthyPosts = (name: string, alertName: string) =>
  recorder.requests.filter((r) => {
    const text = String((r.body as { text?: string }).text);
    const names = text.split(` fired, but Slotwatch sees ${name} healthy`);
    return (
      r.path === '/api/chat.postMessage' && names.length > 1 && names[0]?.split(', ').includes(alertName)
    );
  });

describe('alert webhooks', () => {
  it.each([
    ['no token', {}, 401, 'missing bearer token'],
    ['a wrong token', { authorization: 'Bearer nope' }, 401, 'wrong bearer token'],
  ])('refuses %s with 401', async (_name, headers, status, message) => {
    const result = await post(
      '/webhooks/alertmanager',
      JSON.stringify(alertmanager([alert('firing', { cluster: 'prod' })])),
      headers,
    );
    expect(result.status).toBe(status);
    expect(result.body.error).toContain(message);
  });

  it('answers malformed, invalid, oversized and unmatched payloads with a reason', async () => {
    const notJson = await post('/webhooks/alertmanager', '{nope');
    const invalid = await post(
      '/webhooks/alertmanager',
      JSON.stringify({ version: '4', status: 'firing', alerts: [] }),
    );
    const huge = await post(
      '/webhooks/generic',
      JSON.stringify({ cluster: 'prod', status: 'firing', summary: 'x'.repeat(2 * 1024 * 1024) }),
    );
    const unmatched = await post(
      '/webhooks/alertmanager',
      JSON.stringify(alertmanager([alert('firing', { cluster: 'elsewhere' })])),
    );
    expect(notJson).toMatchObject({ status: 400, body: { error: 'body is not JSON' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error).toContain('alerts');
    expect(huge.status).toBe(413);
    expect(unmatched.status).toBe(422);
    expect(unmatched.body.error).toContain('cluster="elsewhere"');
  });

  it("matches by cluster label or by a node address, and checks Grafana's HMAC", async () => {
    const byLabel = await post(
      '/webhooks/alertmanager',
      JSON.stringify(alertmanager([alert('resolved', { cluster: 'prod' })], 'resolved')),
    );
    const byAddress = await post(
      '/webhooks/alertmanager',
      JSON.stringify(alertmanager([alert('firing', { instance: cluster.nodes.at(-1)?.address ?? '' })])),
    );
    const grafanaBody = JSON.stringify({
      ...alertmanager([alert('firing', { cluster: 'prod' })]),
      orgId: 1,
      title: 'x',
      state: 'alerting',
      message: 'm',
    });
    const signature = createHmac('sha256', HMAC).update(grafanaBody).digest('hex');
    const signed = await post('/webhooks/grafana', grafanaBody, {
      authorization: `Bearer ${TOKEN}`,
      'x-grafana-alert-signature': signature,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const withTime = createHmac('sha256', HMAC).update(`${timestamp}:${grafanaBody}`).digest('hex');
    const timed = await post('/webhooks/grafana', grafanaBody, {
      authorization: `Bearer ${TOKEN}`,
      'x-grafana-alert-signature': withTime,
      'x-grafana-alert-timestamp': timestamp,
    });
    const forged = await post('/webhooks/grafana', grafanaBody, {
      authorization: `Bearer ${TOKEN}`,
      'x-grafana-alert-signature': 'ab'.repeat(32),
    });
    const generic = await post(
      '/webhooks/generic',
      JSON.stringify({ cluster: 'prod', status: 'firing', summary: 'probe' }),
    );
    expect(byLabel).toMatchObject({ status: 202, body: { accepted: ['prod'] } });
    expect(byAddress).toMatchObject({ status: 202, body: { accepted: ['prod'] } });
    // Signed without a timestamp it could be replayed forever: refused (GRAFANA_HMAC_TIMESTAMP defaults to required).
    expect(signed.status).toBe(401);
    expect(signed.body.error).toContain('missing X-Grafana-Alert-Timestamp');
    expect(timed.status).toBe(202);
    expect(forged.status).toBe(401);
    expect(generic.status).toBe(202);
    // The cluster is healthy: no incident, but one short post per alert name saying so, across both bots.
    await waitFor(
      'the healthy-cluster posts',
      () => healthyPosts('prod', 'RedisClusterStateNotOk').length > 0,
    );
    await waitFor('the generic alert’s post', () => healthyPosts('prod', 'generic alert').length > 0);
    // The same alerts again, through the other bot, then a new one: once the new one is answered, every look
    // that could have answered the repeats has ended (one look per cluster at a time, alerts taken in order).
    const again = await Promise.all([
      post(
        '/webhooks/alertmanager',
        JSON.stringify(alertmanager([alert('firing', { cluster: 'prod' })])),
        undefined,
        second.port,
      ),
      post(
        '/webhooks/generic',
        JSON.stringify({ cluster: 'prod', status: 'firing' }),
        undefined,
        second.port,
      ),
    ]);
    expect(again.map((r) => r.status)).toEqual([202, 202]);
    const marker = await post(
      '/webhooks/generic',
      JSON.stringify({ cluster: 'prod', status: 'firing', alertname: 'LaterAlert' }),
    );
    expect(marker.status).toBe(202);
    await waitFor('the later alert’s post', () => healthyPosts('prod', 'LaterAlert').length > 0);
    expect(incidentPosts('prod')).toEqual([]);
    expect(healthyPosts('prod', 'RedisClusterStateNotOk')).toHaveLength(1);
    expect(healthyPosts('prod', 'generic alert')).toHaveLength(1);
  });
});

describe('webhook limits', () => {
  it('answers a chunked body over 1 MiB with 413 and a reason, and keeps serving', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: bot.port,
          path: '/webhooks/generic',
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 32; i++) req.write(chunk);
      req.end();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: 'body over 1048576 bytes' });
    expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
  });

  it.each([
    ['30 days old', String(Math.floor(Date.now() / 1000) - 30 * 86_400), 's old'],
    ['6 minutes old', String(Math.floor(Date.now() / 1000) - 360), 's old'],
    ['6 minutes ahead', String(Math.floor(Date.now() / 1000) + 360), 's in the future'],
    ['not a number', 'yesterday', 'must be Unix seconds'],
  ])(
    'refuses a correctly signed Grafana alert whose timestamp is %s with 401',
    async (_name, timestamp, reason) => {
      const body = JSON.stringify(alertmanager([alert('firing', { cluster: 'prod' })]));
      const signature = createHmac('sha256', HMAC).update(`${timestamp}:${body}`).digest('hex');
      const result = await post('/webhooks/grafana', body, {
        authorization: `Bearer ${TOKEN}`,
        'x-grafana-alert-signature': signature,
        'x-grafana-alert-timestamp': timestamp,
      });
      expect(result.status).toBe(401);
      expect(result.body.error).toContain(reason);
    },
  );
});

describe('incidents', () => {
  it('posts one incident for a real CLUSTERDOWN and a 1,000-alert storm, across two bots', async () => {
    const [victim] = storm.masters;
    if (!victim) throw new Error('no master');
    await killMasterAndReplicas(storm, victim);
    const body = JSON.stringify(
      alertmanager([alert('firing', { cluster: 'storm', alertname: 'RedisClusterSlotFail' })]),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 1000; i += 50) {
      statuses.push(
        ...(
          await Promise.all(
            Array.from({ length: 50 }, (_, k) =>
              post('/webhooks/alertmanager', body, undefined, k % 2 === 0 ? bot.port : second.port),
            ),
          )
        ).map((r) => r.status),
      );
    }
    expect(new Set(statuses)).toEqual(new Set([202]));
    await waitFor('the incident post', () => incidentPosts('storm').length > 0, { timeoutMs: 20_000 });
    // A later alert of another name shows in the incident: once it does, every look at the storm has ended.
    const later = await post(
      '/webhooks/alertmanager',
      JSON.stringify(alertmanager([alert('firing', { cluster: 'storm', alertname: 'LaterStormAlert' })])),
      undefined,
      second.port,
    );
    expect(later.status).toBe(202);
    await waitFor(
      'a message naming the later alert',
      () =>
        recorder.requests.find(
          (r) => r.path.startsWith('/api/chat.') && JSON.stringify(r.body).includes('LaterStormAlert'),
        ),
      { timeoutMs: 20_000 },
    );
    expect(incidentPosts('storm')).toHaveLength(1);
    const post0 = incidentPosts('storm')[0]?.body as {
      channel: string;
      text: string;
      blocks: unknown[];
      attachments: { color: string }[];
    };
    expect(post0.channel).toBe('C0ALERTS');
    // The first look may come from a monitor tick before FAIL is agreed (owner-unreachable): one post either way.
    expect(post0.text).toMatch(
      /^:rotating_light: Incident: storm: (CLUSTERDOWN|FAIL) — 10923\/16384 slots covered, 5461 uncovered/,
    );
    expect(JSON.stringify(post0.blocks)).toMatch(/\(0-5460; owner (failed|unreachable)\)/);
    expect(post0.attachments[0]?.color).toBe('#D92D20');
  });

  it('notices the repair and posts the recovery once, after two healthy looks', async () => {
    await deleteSlotsEverywhere(rec.nodes, 0, 99);
    await waitUntilState(rec.nodes, 'fail');
    await waitFor('the incident post', () => incidentPosts('rec').length > 0, { timeoutMs: 20_000 });
    const option = planRepairs(await report(rec.seeds)).find((o) => o.kind === 'cover-unassigned');
    if (!option) throw new Error('no cover-unassigned option');
    const result = await executeRepair(option, rec.seeds, PROBE);
    expect(result.status).toBe('done');
    await waitUntilState(rec.nodes, 'ok');
    const recoveries = () =>
      threadPosts().filter((r) => String((r.body as { text: string }).text).includes('rec recovered after'));
    const recovered = await waitFor('the recovery post', () => recoveries()[0], { timeoutMs: 20_000 });
    expect((recovered.body as { thread_ts?: string }).thread_ts).toBeTruthy();
    // An alert after the recovery gets the healthy-cluster answer: the looks that could repeat it have ended.
    const later = await post(
      '/webhooks/generic',
      JSON.stringify({ cluster: 'rec', status: 'firing', alertname: 'AfterRecovery' }),
    );
    expect(later.status).toBe(202);
    await waitFor(
      'the healthy-cluster post (or another recovery)',
      () => healthyPosts('rec', 'AfterRecovery').length > 0 || recoveries().length > 1,
    );
    expect(recoveries()).toHaveLength(1);
    expect(incidentPosts('rec')).toHaveLength(1);
    // The top message shows it too, once its edit gap (5 s for a top message) has passed.
    const update = await waitFor('the top message to show the recovery', () =>
      recorder.requests
        .filter(
          (r) => r.path === '/api/chat.update' && JSON.stringify(r.body).includes('rec: recovered after'),
        )
        .at(-1),
    );
    // Green at recovery, as alert tools colour a resolved alert.
    const coloured = (update?.body ?? {}) as { attachments?: { color: string }[] };
    expect(coloured.attachments?.[0]?.color).toBe('#2EB67D');
  });
});
