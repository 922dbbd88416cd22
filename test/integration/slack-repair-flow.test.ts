import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { keySlot } from '../../src/core/key-slot.js';
import type { Timeline } from '../../src/jobs/timeline.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { type LostMaster, loseFirstMasterWithData } from '../support/lost-master.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { type RecordedRequest, SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

// The repair side of an incident, through the doors people use: the alert opens the incident, people
// acknowledge, request, approve; the request message is the one progress message; recovery posts the timeline.

const SECRET = 'repair-flow-secret-0123';
const TOKEN = 'repair-flow-webhook-token-01';
const ONCALL = 'S0ONCALL01';
const [ALICE, BOB, CAROL] = ['U0ALICE01', 'U0BOB0001', 'U0CAROL01'];
const PREFIX = `flow${Date.now()}`;

let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let queueRedis: Redis;
let recorder: SlackRecorder;
let bot: Running;
let lost: LostMaster;
let victim: TestNode;
let counter = 0;

beforeAll(async () => {
  backend = await testBackend();
  // ALICE approves both directly and through the on-call group: she counts once.
  recorder = new SlackRecorder({ userGroups: { [ONCALL]: [ALICE] } });
  await recorder.start();
  [cluster, queue] = await Promise.all([startCluster(backend), startNode(backend, {})]);
  queueRedis = new Redis({ port: queue.port, host: '127.0.0.1' });
  victim = cluster.masters[0] as TestNode;
  lost = await loseFirstMasterWithData(cluster);
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${lost.alive.map((n) => n.address).join(',')}`,
    ALERT_CHANNEL: 'C1',
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: PREFIX,
    QUEUE_LOCK_DURATION: '2s',
    QUEUE_STALLED_INTERVAL: '1s',
    SLACK_APPROVERS: `${ALICE},${BOB},${ONCALL}`,
    APPROVALS_REQUIRED: '2',
    WEBHOOK_TOKEN: TOKEN,
    MONITOR_INTERVAL: '1s',
    PORT: '0',
  });
  bot = await startSlotwatch(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  await bot?.stop();
  queueRedis?.disconnect();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

type Posted = { channel?: string; text?: string; ts?: string; thread_ts?: string; blocks?: unknown[] };

const calls = (method: string): Posted[] =>
  recorder.requests.filter((r: RecordedRequest) => r.path === `/api/${method}`).map((r) => r.body as Posted);
const shown = (p: Posted) => `${p.text ?? ''}\n${JSON.stringify(p.blocks ?? [])}`;

async function slash(text: string, user: string) {
  const id = `s${++counter}`;
  await postToSlack(bot.port, slashCommandBody({ text, user, responseUrl: recorder.responseUrl(id) }), {
    secret: SECRET,
  });
  return (await recorder.nextResponse(id, 30_000)).body as Posted & { response_type?: string };
}

async function click(actionId: string, value: string, user: string): Promise<string> {
  const id = `b${++counter}`;
  const ack = await postToSlack(
    bot.port,
    buttonClickBody({ actionId, value, user, responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  expect(ack.status).toBe(200);
  return id;
}

/** `/redis fix prod` as `user`, then Request the take-over: returns the approval message as posted. */
async function requestTakeOver(user: string): Promise<{ id: string; message: Posted }> {
  const before = calls('chat.postMessage').length;
  const options = await slash('fix prod', user);
  const value = (options.blocks as { elements?: { action_id: string; value?: string }[] }[] | undefined)
    ?.flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'request_repair' && e.value?.includes('"o":"take-over'))?.value;
  if (!value) throw new Error(`no take-over option in ${shown(options).slice(0, 400)}`);
  await click('request_repair', value, user);
  const message = await waitFor('the approval message', () =>
    calls('chat.postMessage')
      .slice(before)
      .find((p) => !p.thread_ts && shown(p).includes('Request rq-')),
  );
  return { id: /Request (rq-[0-9a-f-]+)/.exec(shown(message))?.[1] ?? '', message };
}

const stored = async (id: string) => {
  const found = await bot.repairs?.store.get(id);
  if (!found) throw new Error(`no request ${id}`);
  return found;
};

/** Steps shown finished: done, or skipped (a step first shown done may be relabelled "skipped: already done"). */
const doneSteps = (p: Posted) =>
  (JSON.stringify(p.blocks).match(/:(white_check_mark|fast_forward): \d+\. /g) ?? []).length;

describe('a repair request during an incident', () => {
  let incident: { channel: string; ts: string };
  let takeOver: { id: string; message: Posted };

  it('says who can still approve when too few can, with Slack dates and one data-loss sentence', async () => {
    await fetch(`http://127.0.0.1:${bot.port}/webhooks/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: 'prod', status: 'firing', summary: 'RedisClusterDown' }),
    });
    // The incident is recorded first; where its top message landed is kept once Slack answered.
    incident = await waitFor('the incident post recorded', async () => {
      const raw = await queueRedis.get(`${PREFIX}:incident:prod`);
      const record = raw ? (JSON.parse(raw) as { openedAt: number }) : null;
      if (!record) return null;
      const [channel, ts] = await queueRedis.hmget(
        `${PREFIX}:incident-msg:prod:${record.openedAt}`,
        'channel',
        'ts',
      );
      return channel && ts ? { channel, ts } : null;
    });
    await click('ack_incident', 'prod', BOB);
    await waitFor('the acknowledgement', () =>
      calls('chat.update').some((u) => u.ts === incident.ts && shown(u).includes(`<@${BOB}> is on it`)),
    );

    const { id, message } = await requestTakeOver(ALICE);
    const text = shown(message);
    const option = (await stored(id)).option;
    const keys =
      option.loss?.keys === null || option.loss?.keys === undefined
        ? 'an unknown number of keys'
        : `the ${option.loss.keys.toLocaleString('en-US')} keys`;

    expect(text).toContain(
      `it needs 2 more approvals, but only <@${BOB}> can still approve it (the requester never counts)`,
    );
    expect(text).toContain(
      `Loses ${keys} in slots 0-5460 that only ${victim.address} held; they cannot be recovered by Slotwatch.`,
    );
    expect(text).toMatch(/\*Expires\*\\n<!date\^\d+\^/);
    expect(text).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(text).toContain('0 of 2 approvals: none yet');

    await click('reject_repair', id, BOB);
    await waitFor('the rejection', async () => (await stored(id)).status === 'rejected');
  });

  it('links the request and the incident both ways', async () => {
    takeOver = await requestTakeOver(CAROL);
    const request = await waitFor('the request to know its permalink', async () => {
      const r = await stored(takeOver.id);
      return r.permalink ? r : null;
    });
    const incidentLink = `https://acme.slack.com/archives/C1/p${incident.ts.replace('.', '')}`;
    const requestLink = `https://acme.slack.com/archives/C1/p${request.ts?.replace('.', '')}`;

    const reply = await waitFor('the incident thread to link the request', () =>
      calls('chat.postMessage').find(
        (p) => p.thread_ts === incident.ts && p.text?.includes(takeOver.id) && p.text.includes(requestLink),
      ),
    );
    expect(shown(takeOver.message)).toContain(`<${incidentLink}|the open incident>`);
    expect(reply.text).toContain(`<@${CAROL}> requested a repair: <${requestLink}|`);
    expect(request.permalink).toBe(requestLink);
    // CAROL is not an approver: ALICE and BOB both can, so nothing to warn about.
    expect(shown(takeOver.message)).not.toContain('cannot be approved as it stands');
  });

  it("shows the open incident's timeline so far with /redis timeline", async () => {
    const body = await slash('timeline prod', CAROL);
    const text = shown(body);

    expect(body.response_type).toBe('ephemeral');
    expect(text).toContain('Timeline of the `prod` incident* (`incident-');
    expect(text).toContain('), so far');
    expect(text).toContain(`*acknowledged* by <@${BOB}>`);
    expect(text).toContain(`*rejected* by <@${BOB}>`);
    expect(text).toContain(`*repair requested* by <@${CAROL}>`);
    expect(text).not.toContain('*recovered*');
  });

  it('shows the whole run in the one request message, edited in place and never backwards', async () => {
    const { id } = takeOver;
    await click('approve_repair', id, ALICE);
    await waitFor('one approval', async () => (await stored(id)).approvals.length === 1);
    await click('approve_repair', id, BOB);
    const done = await waitFor(
      'the repair to end',
      async () => {
        const r = await stored(id);
        return ['done', 'failed'].includes(r.status) && r;
      },
      { timeoutMs: 60_000 },
    );
    const total = done.option.steps.length;
    const final = await waitFor('the final edit', () =>
      calls('chat.update')
        .filter((u) => u.ts === done.ts)
        .find((u) => shown(u).includes('*Result:*')),
    );
    const edits = calls('chat.update').filter((u) => u.ts === done.ts);
    const progress = edits.filter((u) => shown(u).includes('*Progress*'));

    expect(done.status).toBe('done');
    expect(calls('chat.postMessage').filter((p) => p.ts === done.ts || p.thread_ts === done.ts)).toEqual([]);
    expect(calls('chat.postMessage').filter((p) => shown(p).includes(`Request ${id}`))).toHaveLength(1);
    // Renders coalesce (each shows the latest version, one edit a second at most), and never go backwards.
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.map(doneSteps)).toEqual([...progress.map(doneSteps)].sort((a, b) => a - b));
    const times = recorder.requests
      .filter((r) => r.path === '/api/chat.update' && (r.body as Posted).ts === done.ts)
      .map((r) => r.at);
    expect(times.slice(1).every((at, i) => at - (times[i] ?? 0) >= 900)).toBe(true);
    // A step the cluster already shows done (an epoch bump that gossip settled) is skipped, and says why.
    const skipped = (
      JSON.stringify(final.blocks).match(/:fast_forward: \d+\. [^\\]* · skipped: already done/g) ?? []
    ).length;
    expect(shown(final)).toMatch(
      new RegExp(`\\*Progress\\* · ${total - skipped} of ${total} steps done(, ${skipped} skipped)? · took `),
    );
    expect(doneSteps(final)).toBe(total);
    expect(shown(final)).toContain('*Result:* Repaired.');
    expect(shown(final)).toMatch(/\*Started\*\\n<!date\^\d+\^\{time_secs\}/);
  });

  it('posts the timeline in the incident thread at recovery, with its JSON file', async () => {
    const timeline = await waitFor(
      'the timeline',
      () =>
        calls('chat.postMessage').find(
          (p) => p.thread_ts === incident.ts && p.text?.startsWith('Timeline of the prod incident'),
        ),
      { timeoutMs: 30_000 },
    );
    const upload = await waitFor('the JSON upload', () =>
      recorder.requests.find(
        (r) =>
          r.path === '/api/files.completeUploadExternal' &&
          JSON.stringify(r.body).includes('Timeline of the prod incident (JSON)'),
      ),
    );
    const fileId = (JSON.parse(String(upload.body.files)) as { id: string }[])[0]?.id ?? '';
    const json = JSON.parse(recorder.state.files.get(fileId)?.toString('utf8') ?? '{}') as Timeline;
    const request = await stored(takeOver.id);
    const text = shown(timeline);
    const types = json.events.map((e) => e.type);

    expect(upload.body.thread_ts).toBe(incident.ts);
    expect(recorder.requests.some((r) => JSON.stringify(r.body).includes(`${json.incident.id}.json`))).toBe(
      true,
    );
    expect(json).toMatchObject({ version: 1, cluster: 'prod', incident: { ts: incident.ts } });
    expect(types.slice(0, 3)).toEqual(['detected', 'posted', 'acknowledged']);
    // Coverage (and so recovery) can come before the repair's last steps (epoch bumps) and its end.
    expect(types.filter((t) => t === 'recovered')).toHaveLength(1);
    expect(types.indexOf('recovered')).toBeGreaterThan(types.indexOf('started'));
    const ours = json.events.filter((e) => e.request === takeOver.id);
    expect(ours.filter((e) => !e.type.startsWith('step-')).map((e) => `${e.type} ${e.user ?? ''}`)).toEqual([
      `requested ${CAROL}`,
      `approved ${ALICE}`,
      `approved ${BOB}`,
      'queued ',
      'started ',
      'finished ',
    ]);
    for (const step of request.option.steps)
      expect(ours.filter((e) => e.step === step.index).map((e) => e.type)).toEqual(
        expect.arrayContaining(['step-started', 'step-finished']),
      );
    expect(json.repairs.map((r) => [r.id, r.status])).toEqual([
      [expect.any(String), 'rejected'],
      [takeOver.id, 'done'],
    ]);
    const run = json.repairs[1];
    const survivors = lost.written.filter((w) => !lost.lost.has(keySlot(w.key))).length;
    expect(run?.dbsize).toMatchObject({ before: survivors, after: survivors });
    expect(json.dataLoss).toEqual({
      keys: request.option.loss?.keys ?? null,
      slots: '0-5460',
      repairs: [takeOver.id],
    });

    expect(text).toContain(`*acknowledged* by <@${BOB}>`);
    expect(text).toContain(`*repair requested* by <@${CAROL}>`);
    expect(text).toContain(`*approved* by <@${ALICE}>`);
    expect(text).toContain(`*step 1 of ${request.option.steps.length} started*`);
    expect(text).toContain('*recovered*');
    expect(text).toMatch(/<!date\^\d+\^\{time_secs\}\|/);
    expect(text).toContain(
      `in slots 0-5460 that only ${victim.address} held, given up by an approved data-loss repair`,
    );
  });

  it('shows the last timeline again with /redis timeline', async () => {
    const body = await slash('timeline prod', CAROL);

    expect(body.response_type).toBe('ephemeral');
    expect(shown(body)).toContain('Timeline of the `prod` incident');
    expect(shown(body)).toMatch(/timeline-incident-\d+\.json/);
  });
});
