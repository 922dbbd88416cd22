import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import { readPng } from '../support/png-reader.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { type CallsFilter, type RecordedRequest, SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'incident-post-secret-0123';
const TOKEN = 'incident-post-webhook-token';
const CHANNEL = 'C0POSTS01';
const MONITOR_MS = 2000;
// Colours the post promises, written here rather than read from src.
const RED = '#D92D20';
const ORANGE = '#F79009';
const HOSTILE = 'Cluster state <!channel> & <@U0ADMIN> <https://evil.example|approve>';
/** A mention or link that did not come from Slotwatch itself (its own `<!date^…>` is fine). */
const HOSTILE_LINK = /<(?!!date\^)[!@h]/;
const RUNBOOK = 'https://runbooks.example.com/redis/cluster-down?team=sre#steps';
const SOURCE = 'http://prometheus.example:9090/graph?g0.expr=redis_cluster_state%3D%3D0';

let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let recorder: SlackRecorder;
let bot: Running;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  // No replicas and a 4 s node timeout: the first look after a kill sees an unreachable owner, FAIL comes later.
  [cluster, queue] = await Promise.all([
    startCluster(backend, { masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 4000 }),
    startNode(backend, {}),
  ]);
  bot = await startSlotwatch(
    loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-test',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: recorder.apiUrl,
      CLUSTERS: `prod=${cluster.nodes.map((n) => n.address).join(',')}`,
      ALERT_CHANNEL: CHANNEL,
      QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
      QUEUE_PREFIX: `post${Date.now()}`,
      WEBHOOK_TOKEN: TOKEN,
      MONITOR_INTERVAL: `${MONITOR_MS / 1000}s`,
      PORT: '0',
    }),
    pino({ level: 'silent' }),
  );
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

interface Message {
  text: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  blocks?: { type: string; text?: { text: string }; elements?: Record<string, unknown>[] }[];
  attachments?: { color: string; blocks: unknown[] }[];
}

const calls = (method: string, filter: CallsFilter = {}) =>
  recorder.calls(method, filter) as (RecordedRequest & { body: Message })[];
const whole = (m: Message) => JSON.stringify(m);
const headerOf = (m: Message) => m.blocks?.find((b) => b.type === 'header')?.text?.text ?? '';
const buttons = (m: Message) =>
  (m.blocks ?? []).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
// Posts Slack took: a call refused with 429 (and posted again) is not a second post.
const healthyPosts = (name: string) =>
  calls('chat.postMessage', { ok: true }).filter((r) =>
    r.body.text.startsWith(`${name} fired, but Slotwatch sees prod healthy`),
  );

function alertmanager(
  name: string,
  annotations: Record<string, string>,
  extra: Record<string, unknown> = {},
) {
  return JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${name}"}`,
    status: 'firing',
    receiver: 'slotwatch',
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: name, severity: 'critical', cluster: 'prod' },
        annotations,
        startsAt: new Date().toISOString(),
        generatorURL: SOURCE,
        fingerprint: name,
        ...extra,
      },
    ],
  });
}

async function fire(path: string, body: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${bot.port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  expect(response.status).toBe(202);
}

const withLinks = (name: string) =>
  alertmanager(
    name,
    { summary: HOSTILE, runbook_url: RUNBOOK },
    // Grafana's fields on an Alertmanager alert: a script link and an over-long one are dropped, not shown.
    {
      dashboardURL: 'javascript:alert(document.cookie)',
      panelURL: `https://grafana.example/${'x'.repeat(3000)}`,
    },
  );

describe('an alert on a healthy cluster', () => {
  it('gets one short post saying Slotwatch sees the cluster healthy, with its links, however often it fires', async () => {
    await fire('/webhooks/alertmanager', withLinks('RedisClusterStateNotOk'));
    const first = await waitFor('the healthy-cluster post', () => healthyPosts('RedisClusterStateNotOk')[0]);
    const storm = Array.from({ length: 60 }, () =>
      fire('/webhooks/alertmanager', withLinks('RedisClusterStateNotOk')),
    );
    await Promise.all(storm);
    await fire(
      '/webhooks/generic',
      JSON.stringify({
        cluster: 'prod',
        status: 'firing',
        alertname: 'ProbeFailed',
        summary: 'synthetic probe',
      }),
    );
    await waitFor('the generic alert’s own post', () => healthyPosts('ProbeFailed')[0]);
    // Two more monitor intervals: any late duplicate would have been posted by then.
    const settled = Date.now() + 2 * MONITOR_MS;
    await waitFor('two monitor intervals', () => Date.now() > settled, { intervalMs: 200 });

    const text = whole(first.body);
    expect(healthyPosts('RedisClusterStateNotOk')).toHaveLength(1);
    expect(healthyPosts('ProbeFailed')).toHaveLength(1);
    expect(first.body.channel).toBe(CHANNEL);
    expect(first.body.text).toBe(
      'RedisClusterStateNotOk fired, but Slotwatch sees prod healthy: all 16384 slots served',
    );
    expect(text).toContain('Slotwatch sees *prod* healthy: all 16384 slots served');
    expect(text).toContain('*RedisClusterStateNotOk* · critical · firing: ');
    expect(text).toContain(
      'Cluster state &lt;!channel&gt; &amp; &lt;@U0ADMIN&gt; &lt;https://evil.example|approve&gt;',
    );
    expect(text).not.toMatch(HOSTILE_LINK);
    expect(text).toMatch(/checked <!date\^\d+\^/);
    expect(buttons(first.body).map((b) => [(b.text as { text: string }).text, b.url])).toEqual([
      ['Runbook', RUNBOOK],
      ['Alert source', SOURCE],
    ]);
    expect(text).not.toContain('javascript:');
    // Healthy, but three masters without a replica are warnings: orange, and said.
    expect(first.body.attachments?.[0]?.color).toBe(ORANGE);
    expect(text).toContain('cluster_state ok on every node · 3 warnings: ');
    expect(calls('chat.postMessage').filter((r) => r.body.text.startsWith(':rotating_light:'))).toEqual([]);
  });

  it("shows a Grafana alert's dashboard and panel as link buttons", async () => {
    const dashboard = 'https://grafana.example/d/redis-cluster/redis?orgId=1';
    const panel = 'https://grafana.example/d/redis-cluster/redis?orgId=1&viewPanel=4';
    await fire(
      '/webhooks/grafana',
      JSON.stringify({
        receiver: 'slotwatch',
        status: 'firing',
        orgId: 1,
        title: '[FIRING:1] RedisSlotsFail',
        state: 'alerting',
        message: 'x',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'RedisSlotsFail', cluster: 'prod' },
            annotations: { summary: 'slots failing' },
            dashboardURL: dashboard,
            panelURL: panel,
            generatorURL: 'https://grafana.example/alerting/grafana/abc/view',
          },
        ],
      }),
    );

    const post = await waitFor('the Grafana alert’s post', () => healthyPosts('RedisSlotsFail')[0]);

    expect(buttons(post.body).map((b) => [(b.text as { text: string }).text, b.url])).toEqual([
      ['Dashboard', dashboard],
      ['Panel', panel],
      ['Alert source', 'https://grafana.example/alerting/grafana/abc/view'],
    ]);
    expect(whole(post.body)).toContain('*RedisSlotsFail* · firing: slots failing');
  });

  it('acknowledges a click on a link button', async () => {
    const answer = await postToSlack(
      bot.port,
      buttonClickBody({
        actionId: 'incident_link_0',
        value: '',
        user: 'U0ALICE01',
        responseUrl: recorder.responseUrl('link'),
      }),
      { secret: SECRET },
    );

    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(2000);
  });
});

describe('the incident post, kept current', () => {
  it('says CLUSTERDOWN in red within one monitor interval of the nodes agreeing, with the alert on it', async () => {
    const [victim, ...survivors] = cluster.masters;
    if (!victim) throw new Error('no master');
    await victim.process.kill();
    await fire('/webhooks/alertmanager', withLinks('RedisClusterDown'));
    const top = await waitFor('the incident post', () =>
      calls('chat.postMessage').find((r) => !r.body.thread_ts && r.body.text.startsWith(':rotating_light:')),
    );
    await waitUntilState(survivors, 'fail');
    const agreed = Date.now();
    const versions = () => [top, ...calls('chat.update')];
    const down = await waitFor(
      'the header to say CLUSTERDOWN',
      () => versions().find((r) => headerOf(r.body).includes('CLUSTERDOWN')),
      { timeoutMs: 30_000 },
    );
    const latest = await waitFor('the alert on the top message', () =>
      versions()
        .reverse()
        .find((r) => whole(r.body).includes('*RedisClusterDown* · critical')),
    );

    expect(Math.max(0, down.at - agreed)).toBeLessThan(MONITOR_MS + 2500);
    expect(headerOf(down.body)).toMatch(
      /^:red_circle: prod · CLUSTERDOWN · 5,461 slots \(33%\) down · open /,
    );
    expect(down.body.attachments?.[0]?.color).toBe(RED);
    expect(top.body.attachments?.[0]?.color).toBe(RED);
    expect(whole(latest.body)).toContain('&lt;!channel&gt; &amp; &lt;@U0ADMIN&gt;');
    expect(whole(latest.body)).not.toMatch(HOSTILE_LINK);
    expect(buttons(latest.body).map((b) => b.url ?? b.action_id)).toEqual([
      'plan_again',
      'ack_incident',
      'silence_incident',
      RUNBOOK,
      SOURCE,
    ]);
    // Every edit is of the one top message, addressed by the channel ID.
    expect(new Set(calls('chat.update').map((r) => `${r.body.channel} ${r.body.ts}`)).size).toBe(1);
    expect(calls('chat.update')[0]?.body.channel).toBe(CHANNEL);
  });

  it('threads "worse" when an unreachable owner is confirmed failed, never "new" plus "cleared"', async () => {
    const replies = await waitFor('a reply about the confirmed failure', () => {
      const all = calls('chat.postMessage').filter((r) => r.body.thread_ts && r.body.text.includes('Worse'));
      return all.some((r) => r.body.text.includes('now *owner-failed*')) && all;
    });

    const texts = replies.map((r) => r.body.text);
    expect(texts.every((t) => t.startsWith(':small_red_triangle_down: *Worse*'))).toBe(true);
    expect(texts.join('\n')).toContain(
      'was owner-unreachable, now *owner-failed* (the same gap, its owner now confirmed failed)',
    );
    expect(texts.join('\n')).not.toMatch(/(new|cleared): gap/);
    expect(texts.join('\n')).toMatch(/\*Now:\* :red_circle: prod · CLUSTERDOWN/);
  });

  it('draws the slot map again when the gaps change: orange while unreachable, dark red once failed', async () => {
    const maps = await waitFor('two slot maps', () => {
      const withFiles = recorder.state.messages.filter((m) => m.files.length > 0 && m.channel === CHANNEL);
      return withFiles.length >= 2 && withFiles;
    });

    const [first, last] = [maps[0], maps.at(-1)].map((m) =>
      readPng(recorder.state.files.get(m?.files[0] ?? '') ?? Buffer.alloc(0)),
    );
    // Slot 0 is the dead master's: its 4x4 cell at the top-left corner.
    expect(first?.at(1, 1)).toEqual([249, 115, 22]);
    expect(last?.at(1, 1)).toEqual([127, 29, 29]);
  });
});
