import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import type { RecordedRequest } from '../support/slack-recorder.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'incident-signing-secret-0123';
const TOKEN = 'incident-webhook-token-0123';
const CHANNEL_ID = 'C0REDIS0INC';
const PREFIX = `inc${Date.now()}`;
const [ALICE, BOB] = ['U0ALICE01', 'U0BOB0001'];
let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let queueRedis: Redis;
let recorder: SlackRecorder;
let bot: Running;
let counter = 0;

/** Two of three masters dead and no replicas: no FAIL can be agreed, no repair fits. */
beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder({ channelNames: { '#redis-incidents': CHANNEL_ID } });
  await recorder.start();
  [cluster, queue] = await Promise.all([
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
    startNode(backend, {}),
  ]);
  queueRedis = new Redis({ port: queue.port, host: '127.0.0.1' });
  const [a, b, survivor] = cluster.masters;
  if (!a || !b || !survivor) throw new Error('no masters');
  await Promise.all([a.process.kill(), b.process.kill()]);
  await waitUntilState([survivor], 'fail');
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.nodes.map((n) => n.address).join(',')};spare=${survivor.address}`,
    ALERT_CHANNEL: '#redis-incidents',
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: PREFIX,
    SLACK_APPROVERS: `${ALICE},${BOB}`,
    WEBHOOK_TOKEN: TOKEN,
    MONITOR_INTERVAL: '1h',
    PORT: '0',
  });
  bot = await startSlotwatch(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
  queueRedis?.disconnect();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

type Body = { response_type?: string; text: string; blocks?: unknown[]; channel?: string; ts?: string };

async function slash(text: string, user = ALICE): Promise<Body> {
  const id = `s${++counter}`;
  const ack = await postToSlack(
    bot.port,
    slashCommandBody({ text, user, responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  expect(ack.status).toBe(200);
  return (await recorder.nextResponse(id)).body as Body;
}

async function click(actionId: string, value: string, user = ALICE): Promise<Body> {
  const id = `b${++counter}`;
  const ack = await postToSlack(
    bot.port,
    buttonClickBody({ actionId, value, user, responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  expect(ack.status).toBe(200);
  return (await recorder.nextResponse(id)).body as Body;
}

const calls = (method: string): RecordedRequest[] =>
  recorder.requests.filter((r) => r.path === `/api/${method}`);
const shown = (body: { text?: unknown; blocks?: unknown }) =>
  `${String(body.text ?? '')}\n${JSON.stringify(body.blocks ?? [])}`;

async function alert(cluster: string, summary: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/generic`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cluster, status: 'firing', summary }),
  });
  expect(response.status).toBe(202);
}

describe('the incident post through Slack', () => {
  it('posts to ALERT_CHANNEL=#name, then edits and uploads with the channel ID Slack answered', async () => {
    await alert('prod', 'RedisClusterDown');

    const top = await waitFor('the incident post', () =>
      calls('chat.postMessage').find((r) => !r.body.thread_ts && shown(r.body).includes('prod ·')),
    );
    const upload = await waitFor('the slot map upload', () => calls('files.completeUploadExternal')[0]);
    const ack = await click('ack_incident', 'prod', BOB);
    const edit = await waitFor('the top message edited', () =>
      calls('chat.update').find((r) => shown(r.body).includes(`<@${BOB}> is on it`)),
    );

    expect(top.body.channel).toBe('#redis-incidents');
    expect(shown(top.body)).toContain('CLUSTERDOWN');
    expect(upload.body.channel_id).toBe(CHANNEL_ID);
    expect(ack.text).toContain('You own the `prod` incident');
    expect(edit.body.channel).toBe(CHANNEL_ID);
    const pictures = recorder.state.messages.filter((m) => m.files.length > 0);
    expect(pictures.length).toBeGreaterThan(0);
    expect(pictures.filter((m) => m.channel !== CHANNEL_ID)).toEqual([]);
  });

  it('audits the acknowledgement, and /redis audit filters by its id', async () => {
    const all = await slash('audit prod');
    const id = /`(incident-\d+)`/.exec(all.text)?.[1] ?? '';
    const one = await slash(`audit prod ${id}`);
    const none = await slash('audit prod rq-nothing');

    expect(all.text).toContain(`acknowledged <@${BOB}>`);
    expect(one.text).toContain(`*Audit for request \`${id}\` on \`prod\`*`);
    expect(one.text.split('\n')).toHaveLength(2);
    expect(none.text).toBe('No audit entries for request `rq-nothing` on `prod`.');
  });

  it.each([
    ['fix prod', 'the slash command'],
    ['plan_again', 'the Plan a fix button'],
  ])('answers %s on a quorum-lost cluster with what to do by hand (%s), never a green tick', async (how) => {
    const body = how === 'plan_again' ? await click('plan_again', 'prod') : await slash(how);
    const text = shown(body);
    const [a, b] = cluster.masters;

    expect(text).not.toContain(':white_check_mark:');
    expect(body.text).toContain('prod: no automatic repair fits');
    expect(text).toContain('*QUORUM_LOST*');
    expect(text).toContain('*By hand:* Bring the dead masters back first (restart them from RDB/AOF)');
    expect(text).toContain(`down: ${a?.address}`);
    expect(text).toContain(`down: ${b?.address}`);
  });
});

describe('/redis silence', () => {
  const mutedFor = async (name: string) => queueRedis.pttl(`${PREFIX}:silence:${name}`);

  it.each([
    ['silence spare 2h', 'spare', 2 * 3_600_000],
    ['silence 30m', 'prod', 30 * 60_000],
    ['silence spare', 'spare', 3_600_000],
  ])('understands `%s`', async (text, name, ms) => {
    await queueRedis.del(`${PREFIX}:silence:prod`, `${PREFIX}:silence:spare`);

    const body = await slash(text);

    expect(body.response_type).toBe('in_channel');
    expect(body.text).toContain(`:mute: Automated posts for \`${name}\` are muted until <!date^`);
    expect(await mutedFor(name)).toBeGreaterThan(ms - 60_000);
    expect(await mutedFor(name)).toBeLessThanOrEqual(ms);
    expect(await mutedFor(name === 'prod' ? 'spare' : 'prod')).toBe(-2);
  });

  it('unmutes with `off` and refuses what it cannot read, privately', async () => {
    await slash('silence prod 2h');
    const off = await slash('silence prod off');
    const nowhere = await slash('silence nowhere 2h');
    const tooLong = await slash('silence prod 30d');

    expect(off.text).toContain('are on again');
    expect(await mutedFor('prod')).toBe(-2);
    expect(nowhere).toMatchObject({ response_type: 'ephemeral' });
    expect(nowhere.text).toContain('Unknown cluster `nowhere`. Clusters: `prod` (default), `spare`.');
    expect(tooLong.response_type).toBe('ephemeral');
    expect(tooLong.text).toContain('neither a cluster nor a duration up to 7d');
  });

  it('mutes from the incident post’s Silence button', async () => {
    const body = await click('silence_incident', 'prod');

    expect(body.text).toContain('muted until');
    expect(await mutedFor('prod')).toBeGreaterThan(60 * 60_000);
  });
});
