import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { deleteSlotsEverywhere, waitUntilState } from '../support/break.js';
import { cli } from '../support/cli.js';
import { startCluster, startNode, type TestCluster, waitUntilHealthy } from '../support/cluster.js';
import { checkData, seedData } from '../support/data.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { type RecordedRequest, SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'repair-test-secret-0123';
const APPROVERS = Array.from({ length: 52 }, (_, i) => `U0APP${String(i).padStart(4, '0')}`);
const [ALICE = '', BOB = '', CAROL = ''] = APPROVERS;
const STRANGER = 'U0STRANGER';

let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let queueClient: Redis;
let recorder: SlackRecorder;
let bot: Running;
let counter = 0;
const PREFIX = `t${Date.now()}`;

function config(extra: Record<string, string> = {}) {
  return loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.seeds.join(',')}`,
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: PREFIX,
    QUEUE_LOCK_DURATION: '2s',
    QUEUE_STALLED_INTERVAL: '1s',
    SLACK_APPROVERS: APPROVERS.join(','),
    APPROVALS_REQUIRED: '2',
    PORT: '0',
    ...extra,
  });
}

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  cluster = await startCluster(backend);
  queue = await startNode(backend, {});
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1' });
  bot = await startSlotwatch(config(), pino({ level: 'silent' }));
});

afterAll(async () => {
  await bot?.stop();
  queueClient?.disconnect();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

type Posted = { channel?: string; text?: string; ts?: string; thread_ts?: string; blocks?: unknown[] };

const apiCalls = (method: string): Posted[] =>
  recorder.requests.filter((r: RecordedRequest) => r.path === `/api/${method}`).map((r) => r.body as Posted);

async function command(text: string, user = ALICE, target = bot) {
  const id = `c${++counter}`;
  await postToSlack(target.port, slashCommandBody({ text, user, responseUrl: recorder.responseUrl(id) }), {
    secret: SECRET,
  });
  return (await recorder.nextResponse(id)).body as {
    response_type: string;
    text: string;
    blocks?: { type: string; elements?: { action_id: string; value: string }[] }[];
  };
}

async function click(actionId: string, value: string, user: string, target = bot) {
  const id = `b${++counter}`;
  const ack = await postToSlack(
    target.port,
    buttonClickBody({ actionId, value, user, responseUrl: recorder.responseUrl(id) }),
    { secret: SECRET },
  );
  expect(ack.status).toBe(200);
  return id;
}

const requestButton = (body: Awaited<ReturnType<typeof command>>, kind: string) =>
  body.blocks
    ?.flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'request_repair' && e.value.includes(`"o":"${kind}`))?.value;

/** Lists fixes as `requester`, clicks Request on `kind`, returns the request id from the approval message. */
async function requestRepair(kind: string, requester = CAROL): Promise<string> {
  const before = apiCalls('chat.postMessage').length;
  const options = await command('fix prod', requester);
  const value = requestButton(options, kind);
  if (!value) throw new Error(`no ${kind} option in ${JSON.stringify(options).slice(0, 500)}`);
  await click('request_repair', value, requester);
  const posted = await waitFor('the approval message', () =>
    apiCalls('chat.postMessage')
      .slice(before)
      .find((p) => !p.thread_ts && JSON.stringify(p.blocks).includes('Request rq-')),
  );
  return /Request (rq-[0-9a-f-]+)/.exec(JSON.stringify(posted.blocks))?.[1] ?? '';
}

const request = async (id: string) => {
  const found = await bot.repairs?.store.get(id);
  if (!found) throw new Error(`no request ${id}`);
  return found;
};

async function ephemeralTo(responseId: string): Promise<string> {
  const body = (await recorder.nextResponse(responseId)).body as {
    text: string;
    response_type?: string;
    replace_original?: boolean;
  };
  expect(body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return body.text;
}

/** The audit stream's entries for one request, oldest first. */
async function auditOf(id: string) {
  return (await queueClient.xrange(`${PREFIX}:audit`, '-', '+'))
    .map(([, fields]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      return f;
    })
    .filter((f) => f.request === id)
    .map((f) => ({ event: f.event, cluster: f.cluster, user: f.user, detail: f.detail }));
}

/** A refused click is audited by the time the person sees its answer, never later. */
const refusals = async (id: string) => (await auditOf(id)).filter((e) => e.event === 'refused');

/** Each test starts from a healthy cluster no repair holds: unassigned slots go back to the first master. */
async function coverEverySlot(): Promise<void> {
  await waitFor(
    'no repair holding the cluster',
    async () => (await queueClient.exists(`${PREFIX}:lock:prod`)) === 0,
  );
  const [owner] = cluster.masters;
  if (!owner) throw new Error('no master');
  const slots = (await owner.redis.call('CLUSTER', 'SLOTS')) as [number, number][];
  const covered = slots
    .map(([start, end]) => [Number(start), Number(end)] as const)
    .sort((a, b) => a[0] - b[0]);
  const gaps: [number, number][] = [];
  let next = 0;
  for (const [start, end] of covered) {
    if (start > next) gaps.push([next, start - 1]);
    next = Math.max(next, end + 1);
  }
  if (next <= 16383) gaps.push([next, 16383]);
  for (const [start, end] of gaps) await owner.redis.call('CLUSTER', 'ADDSLOTSRANGE', start, end);
  await waitUntilHealthy(cluster.nodes);
}

beforeEach(coverEverySlot, 60_000);

describe('repairs from Slack with two approvals', () => {
  it('runs an approved repair as a job, reports progress in its one message and ends with the outcome', async () => {
    const written = await seedData(cluster, [100, 150, 9000], 10_000);
    await deleteSlotsEverywhere(cluster.nodes, 0, 999);
    await waitUntilState(cluster.nodes, 'fail');

    const status = await command('status prod');
    expect(JSON.stringify(status.blocks)).toContain('"action_id":"plan_again"');
    const id = await requestRepair('cover-unassigned');
    await click('approve_repair', id, ALICE);
    await waitFor('one approval', async () => (await request(id)).approvals.length === 1);
    expect((await request(id)).status).toBe('pending');
    await click('approve_repair', id, BOB);

    const done = await waitFor(
      'the repair to finish',
      async () => {
        const r = await request(id);
        return r.status === 'done' && r;
      },
      { timeoutMs: 30_000 },
    );
    expect(done.outcome).toMatch(
      /^Repaired\. before: 15384\/16384 slots, state fail; after: 16384\/16384 slots, state ok/,
    );
    expect(done.approvals.map((v) => v.user)).toEqual([ALICE, BOB]);
    const { ts } = await request(id);
    expect(apiCalls('chat.postMessage').filter((p) => p.thread_ts === ts)).toEqual([]);
    await waitFor('the message to show step 1 done', () =>
      apiCalls('chat.update').some(
        (u) => u.ts === ts && /:white_check_mark: 1\. .* · done in /.test(JSON.stringify(u.blocks)),
      ),
    );
    // The store says done first; the message update follows.
    await waitFor('the message to end with the outcome', () =>
      JSON.stringify(
        apiCalls('chat.update')
          .filter((u) => JSON.stringify(u.blocks).includes(id))
          .at(-1)?.blocks,
      ).includes(':white_check_mark: Done'),
    );
    await waitUntilState(cluster.nodes, 'ok');
    expect(await checkData(cluster, written)).toMatchObject({ intact: 10_000, wrong: [] });
  });

  it('refuses self-approval, a second approval by the same person and people not on the list', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 2000, 2099);
    const id = await requestRepair('cover-unassigned', CAROL);

    const self = await ephemeralTo(await click('approve_repair', id, CAROL));
    await click('approve_repair', id, ALICE);
    await waitFor('one approval', async () => (await request(id)).approvals.length === 1);
    const twice = await ephemeralTo(await click('approve_repair', id, ALICE));
    const stranger = await ephemeralTo(await click('approve_repair', id, STRANGER));

    expect(self).toContain('You requested this repair');
    expect(twice).toContain('You already approved this request');
    expect(stranger).toContain('You are not on the approver list');
    expect(await request(id)).toMatchObject({ status: 'pending', approvals: [{ user: ALICE }] });
    expect(await bot.repairs?.jobState(id)).toBeNull();

    const reject = await click('reject_repair', id, BOB);
    await waitFor('the rejection', async () => (await request(id)).status === 'rejected');
    const late = await ephemeralTo(await click('approve_repair', id, APPROVERS[5] ?? ''));
    expect(late).toContain('This request is closed');
    expect(recorder.responses(reject)).toEqual([]);
    expect(await bot.repairs?.jobState(id)).toBeNull();
    expect((await refusals(id)).map((e) => [e.user, e.detail])).toEqual([
      [CAROL, 'approve: self'],
      [ALICE, 'approve: twice'],
      [STRANGER, 'approve: not on the approver list'],
      [APPROVERS[5], 'approve: not-pending'],
    ]);
  });

  it("refuses a non-approver's approve, reject and cancel, privately, and audits who, what and why", async () => {
    await deleteSlotsEverywhere(cluster.nodes, 2200, 2209);
    const id = await requestRepair('cover-unassigned');

    const approve = await ephemeralTo(await click('approve_repair', id, STRANGER));
    const reject = await ephemeralTo(await click('reject_repair', id, STRANGER));
    const cancel = await ephemeralTo(await click('cancel_repair', id, STRANGER));
    const early = await ephemeralTo(await click('cancel_repair', id, ALICE));

    expect(approve).toContain('You are not on the approver list');
    expect(reject).toContain('You are not on the approver list');
    expect(cancel).toContain('Only approvers can cancel');
    expect(early).toContain('not queued or running');
    expect(await refusals(id)).toEqual([
      { event: 'refused', cluster: 'prod', user: STRANGER, detail: 'approve: not on the approver list' },
      { event: 'refused', cluster: 'prod', user: STRANGER, detail: 'reject: not on the approver list' },
      { event: 'refused', cluster: 'prod', user: STRANGER, detail: 'cancel: not on the approver list' },
      {
        event: 'refused',
        cluster: 'prod',
        user: ALICE,
        detail: 'cancel: the request is not queued or running',
      },
    ]);
    expect(await request(id)).toMatchObject({ status: 'pending', approvals: [], rejectedBy: null });
    expect(await bot.repairs?.jobState(id)).toBeNull();
  });

  it('makes expired requests inert, expired by the clock and the late click refused apart', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 2300, 2309);
    const id = await requestRepair('cover-unassigned');
    const key = `${PREFIX}:request:${id}`;
    const stored = JSON.parse((await queueClient.get(key)) ?? '{}') as Record<string, unknown>;
    const expiresAt = Date.now() - 61_000;
    await queueClient.set(key, JSON.stringify({ ...stored, expiresAt }), 'KEEPTTL');

    const text = await ephemeralTo(await click('approve_repair', id, ALICE));
    const again = await ephemeralTo(await click('reject_repair', id, BOB));

    expect(text).toContain('expired');
    expect(again).toContain('expired');
    expect((await request(id)).status).toBe('expired');
    expect(await bot.repairs?.jobState(id)).toBeNull();
    const at = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect((await auditOf(id)).filter((e) => e.event !== 'requested')).toEqual([
      {
        event: 'expired',
        cluster: 'prod',
        user: 'slotwatch',
        detail: `approval window over: expired at ${at}, noticed at a click`,
      },
      { event: 'refused', cluster: 'prod', user: ALICE, detail: 'approve: expired' },
      { event: 'refused', cluster: 'prod', user: BOB, detail: 'reject: expired' },
    ]);
    const events = await bot.repairs?.store.events(id);
    expect(events?.filter((e) => e.event === 'expired').map((e) => e.user)).toEqual(['slotwatch']);
  });

  it('queues exactly one job when 50 approvers click at once', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 2400, 2409);
    const id = await requestRepair('cover-unassigned');
    const clickers = APPROVERS.slice(2, 52);
    await Promise.all(clickers.map((user) => click('approve_repair', id, user)));
    const final = await waitFor(
      'the repair to finish',
      async () => {
        const r = await request(id);
        return ['done', 'failed'].includes(r.status) && r;
      },
      { timeoutMs: 30_000 },
    );
    expect(final.status).toBe('done');
    expect(final.approvals).toHaveLength(2);
    const audit = (await bot.repairs) && (await queueClient.xrange(`${PREFIX}:audit`, '-', '+'));
    const queued = (audit ?? []).filter(([, fields]) => fields.includes('queued') && fields.includes(id));
    expect(queued).toHaveLength(1);
    await waitFor('the job to complete', async () => (await bot.repairs?.jobState(id)) === 'completed');
  });

  it('refuses a plan that went stale while it waited, and offers to plan again', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 3000, 3009);
    const id = await requestRepair('cover-unassigned');
    await deleteSlotsEverywhere(cluster.nodes, 3100, 3109);
    await click('approve_repair', id, ALICE);
    await click('approve_repair', id, BOB);
    const stale = await waitFor(
      'the refusal',
      async () => {
        const r = await request(id);
        return r.status === 'stale' && r;
      },
      { timeoutMs: 20_000 },
    );
    expect(stale.outcome).toContain('plan again');
    await waitFor('the message to offer planning again', () =>
      JSON.stringify(
        apiCalls('chat.update')
          .filter((u) => JSON.stringify(u.blocks).includes(id))
          .at(-1)?.blocks,
      ).includes('plan_again'),
    );
  });

  it('writes every event to the audit stream in order and shows it with /redis audit and jobs', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 2500, 2509);
    const id = await requestRepair('cover-unassigned');
    await click('approve_repair', id, ALICE);
    await waitFor('one approval', async () => (await request(id)).approvals.length === 1);
    await click('approve_repair', id, BOB);
    await waitFor('the repair to finish', async () => (await request(id)).status === 'done', {
      timeoutMs: 30_000,
    });
    await waitFor(
      'the lock to be released',
      async () => (await queueClient.exists(`${PREFIX}:lock:prod`)) === 0,
    );
    await deleteSlotsEverywhere(cluster.nodes, 2600, 2609);
    const rejected = await requestRepair('cover-unassigned');
    await click('reject_repair', rejected, ALICE);
    await waitFor('the rejection', async () => (await request(rejected)).status === 'rejected');

    const events = (await auditOf(id)).map((e) => `${e.event} ${e.user}`);
    const steps = events.filter((e) => e.startsWith('step '));
    expect(steps.length).toBeGreaterThan(0);
    expect(events).toEqual([
      `requested ${CAROL}`,
      `approved ${ALICE}`,
      `approved ${BOB}`,
      `queued ${BOB}`,
      'started slotwatch',
      ...steps,
      'finished slotwatch',
    ]);
    const shown = await command(`audit prod ${id}`);
    expect(shown.response_type).toBe('ephemeral');
    expect(shown.text).toContain(`requested <@${CAROL}>`);
    expect(shown.text).toContain(`finished slotwatch \`${id}\``);
    const jobs = await command('jobs prod');
    expect(jobs.text).toContain(`\`${id}\` *done*`);
    expect(jobs.text).toContain(`\`${rejected}\` *rejected*`);
  });

  it('fails closed without an approver list, and READ_ONLY turns repairs off', async () => {
    const closed = await startSlotwatch(
      config({ SLACK_APPROVERS: '', QUEUE_PREFIX: `${PREFIX}b` }),
      pino({ level: 'silent' }),
    );
    const readOnly = await startSlotwatch(
      config({ READ_ONLY: 'true', QUEUE_PREFIX: `${PREFIX}c` }),
      pino({ level: 'silent' }),
    );
    try {
      await deleteSlotsEverywhere(cluster.nodes, 4000, 4009);
      const options = await command('fix prod', CAROL, closed);
      const value = requestButton(options, 'cover-unassigned') ?? '';
      await click('request_repair', value, CAROL, closed);
      const posted = await waitFor('the approval message', () =>
        apiCalls('chat.postMessage').find((p) => p.thread_ts && p.text?.includes('SLACK_APPROVERS is empty')),
      );
      expect(posted.text).toContain('fail closed');
      const id = (await closed.repairs?.store.recent(1))?.[0]?.id ?? '';
      const refused = await ephemeralTo(await click('approve_repair', id, ALICE, closed));
      expect(refused).toContain('No approver list is configured');
      expect(await closed.repairs?.jobState(id)).toBeNull();

      const off = await command('fix prod', CAROL, readOnly);
      expect(off.response_type).toBe('ephemeral');
      expect(off.text).toContain('READ_ONLY=true');
    } finally {
      await closed.stop();
      await readOnly.stop();
    }
  });

  it('makes `slotwatch fix` wait for the same per-cluster lock', async () => {
    await deleteSlotsEverywhere(cluster.nodes, 5000, 5009);
    await queueClient.set(`${PREFIX}:lock:prod`, 'rq-held-by-the-bot', 'PX', 60_000);
    const env = { QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`, QUEUE_PREFIX: PREFIX };
    const blocked = await cli(
      ['fix', cluster.seeds.join(','), '--option', 'cover-unassigned', '--yes', '--cluster-name', 'prod'],
      env,
    );
    await queueClient.del(`${PREFIX}:lock:prod`);
    const free = await cli(
      ['fix', cluster.seeds.join(','), '--option', 'cover-unassigned', '--yes', '--cluster-name', 'prod'],
      env,
    );
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toContain('another repair (rq-held-by-the-bot) is running on prod');
    expect(free.code).toBe(0);
    expect(await queueClient.exists(`${PREFIX}:lock:prod`)).toBe(0);
  });
});
