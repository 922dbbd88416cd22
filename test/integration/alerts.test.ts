import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { executeRepair } from '../../src/core/repair/execute.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { killMasterAndReplicas, waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { PROBE, report } from '../support/repair.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

const TOKEN = 'webhook-token-0123456789abcdef';
const HMAC = 'grafana-hmac-secret';
let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let recorder: SlackRecorder;
let bot: Running;
let second: { child: ChildProcess; exit: Promise<number | null>; port: number };
const prefix = `al${Date.now()}`;

function env(port: number): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: 'alerts-secret-0123',
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.nodes.map((n) => n.address).join(',')}`,
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
  cluster = await startCluster(backend);
  queue = await startNode(backend, {});
  bot = await startSlotwatch(loadConfig(env(0)), pino({ level: 'silent' }));
  // A second bot process on the same queue Redis: together they must still post once.
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/main.js'], {
    env: { PATH: process.env.PATH ?? '', ...env(port) },
    stdio: 'ignore',
  });
  second = { child, port, exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  await waitFor(
    'the second bot',
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok,
  );
});

afterAll(async () => {
  second?.child.kill('SIGTERM');
  await second?.exit;
  await bot?.stop();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
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

const incidentPosts = () =>
  recorder.requests.filter(
    (r) =>
      r.path === '/api/chat.postMessage' &&
      String((r.body as { text?: string }).text).startsWith(':rotating_light: Incident'),
  );
const threadPosts = () =>
  recorder.requests.filter(
    (r) => r.path === '/api/chat.postMessage' && (r.body as { thread_ts?: string }).thread_ts,
  );

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
      JSON.stringify(alertmanager([alert('firing', { instance: cluster.nodes[4]?.address ?? '' })])),
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
    expect(signed.status).toBe(202);
    expect(timed.status).toBe(202);
    expect(forged.status).toBe(401);
    expect(generic.status).toBe(202);
    // The cluster is healthy: no incident, but one short post per alert name saying so, across both bots.
    const healthy = (name: string) =>
      recorder.requests.filter((r) =>
        String((r.body as { text?: string }).text).startsWith(
          `${name} fired, but Slotwatch sees prod healthy`,
        ),
      );
    await waitFor('the healthy-cluster posts', () => healthy('RedisClusterStateNotOk').length > 0);
    await waitFor('the generic alert’s post', () => healthy('generic alert').length > 0);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(incidentPosts()).toEqual([]);
    expect(healthy('RedisClusterStateNotOk')).toHaveLength(1);
    expect(healthy('generic alert')).toHaveLength(1);
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
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    await killMasterAndReplicas(cluster, victim);
    const body = JSON.stringify(
      alertmanager([alert('firing', { cluster: 'prod', alertname: 'RedisClusterSlotFail' })]),
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
    await waitFor('the incident post', () => incidentPosts().length > 0, { timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(incidentPosts()).toHaveLength(1);
    const post0 = incidentPosts()[0]?.body as {
      channel: string;
      text: string;
      blocks: unknown[];
      attachments: { color: string }[];
    };
    expect(post0.channel).toBe('C0ALERTS');
    // The first look may come from a monitor tick before FAIL is agreed (owner-unreachable): one post either way.
    expect(post0.text).toMatch(
      /^:rotating_light: Incident: prod: (CLUSTERDOWN|FAIL) — 10923\/16384 slots covered, 5461 uncovered/,
    );
    expect(JSON.stringify(post0.blocks)).toMatch(/\(0-5460; owner (failed|unreachable)\)/);
    expect(post0.attachments[0]?.color).toBe('#D92D20');
  });

  it('notices the repair and posts the recovery once, after two healthy looks', async () => {
    const alive = cluster.nodes.filter((n) => n.redis.status === 'ready');
    const seeds = alive.map((n) => n.address);
    const broken = await report(seeds);
    const option = planRepairs(broken).find((o) => o.kind === 'take-over-slots');
    if (!option) throw new Error('no take-over option');
    const result = await executeRepair(option, seeds, { ...PROBE, acceptDataLoss: true });
    expect(result.status).toBe('done');
    await waitUntilState(alive, 'ok');
    const recovered = await waitFor(
      'the recovery post',
      () => threadPosts().find((r) => String((r.body as { text: string }).text).includes('recovered after')),
      { timeoutMs: 20_000 },
    );
    expect((recovered.body as { thread_ts?: string }).thread_ts).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(
      threadPosts().filter((r) => String((r.body as { text: string }).text).includes('recovered after')),
    ).toHaveLength(1);
    const update = recorder.requests.filter((r) => r.path === '/api/chat.update').at(-1);
    expect(JSON.stringify(update?.body)).toContain('prod: recovered after');
    // Green at recovery, as alert tools colour a resolved alert.
    const coloured = (update?.body ?? {}) as { attachments?: { color: string }[] };
    expect(coloured.attachments?.[0]?.color).toBe('#2EB67D');
  });
});
