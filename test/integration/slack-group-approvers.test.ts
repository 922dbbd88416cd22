import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { type Running, startSlotwatch } from '../../src/main.js';
import { testBackend } from '../support/backend.js';
import { deleteSlotsEverywhere } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { type RecordedRequest, SlackRecorder } from '../support/slack-recorder.js';
import { buttonClickBody, postToSlack, slashCommandBody } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const SECRET = 'group-approver-secret-0123';
const ONCALL = 'S0ONCALL01';
const OTHER_TEAM = 'S0OTHER001';
const REQUESTER = 'U0REQUEST1';
const DIRECT = 'U0DIRECT01';
const MEMBER = 'U0MEMBER01';
const OUTSIDER = 'U0OUTSIDE1';

let backend: RedisBackend;
let cluster: TestCluster;
let queue: { port: number; process: RedisProcess };
let recorder: SlackRecorder;
let bot: Running;
let counter = 0;

beforeAll(async () => {
  backend = await testBackend();
  // MEMBER is an approver only through ONCALL; OUTSIDER is in a group that is not on the list.
  recorder = new SlackRecorder({ userGroups: { [ONCALL]: [MEMBER], [OTHER_TEAM]: [OUTSIDER] } });
  await recorder.start();
  cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
  queue = await startNode(backend, {});
  const config = loadConfig({
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: `prod=${cluster.seeds.join(',')}`,
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: `groups${Date.now()}`,
    SLACK_APPROVERS: `${DIRECT},${ONCALL}`,
    APPROVALS_REQUIRED: '1',
    PORT: '0',
  });
  bot = await startSlotwatch(config, pino({ level: 'silent' }));
});

afterAll(async () => {
  await bot?.stop();
  await recorder?.stop();
  await cluster?.stop();
  await queue?.process.kill();
  await backend?.stopAll();
});

const apiCalls = (method: string) =>
  recorder.requests.filter((r: RecordedRequest) => r.path === `/api/${method}`).map((r) => r.body);

async function command(text: string, user: string) {
  const id = `c${++counter}`;
  await postToSlack(bot.port, slashCommandBody({ text, user, responseUrl: recorder.responseUrl(id) }), {
    secret: SECRET,
  });
  return (await recorder.nextResponse(id)).body as {
    blocks?: { elements?: { action_id: string; value: string }[] }[];
  };
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

/** Deletes the slots, lists fixes as REQUESTER, clicks Request on the cover option, returns the request id. */
async function requestCover(from: number, to: number): Promise<string> {
  await deleteSlotsEverywhere(cluster.nodes, from, to);
  const before = bot.repairs ? (await bot.repairs.store.recent(100)).map((r) => r.id) : [];
  const options = await command('fix prod', REQUESTER);
  const value = options.blocks
    ?.flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'request_repair' && e.value.includes('"o":"cover-unassigned'))?.value;
  if (!value) throw new Error(`no cover-unassigned option in ${JSON.stringify(options).slice(0, 500)}`);
  await click('request_repair', value, REQUESTER);
  const created = await waitFor('the new request', async () =>
    (await bot.repairs?.store.recent(100))?.find((r) => !before.includes(r.id)),
  );
  return created.id;
}

const request = async (id: string) => {
  const found = await bot.repairs?.store.get(id);
  if (!found) throw new Error(`no request ${id}`);
  return found;
};

describe('approvers listed through a Slack user group', () => {
  it('accepts the approval of a user who is on the list only through a user group, and runs the repair', async () => {
    const id = await requestCover(1000, 1009);

    await click('approve_repair', id, MEMBER);

    const done = await waitFor(
      'the repair to finish',
      async () => {
        const r = await request(id);
        return ['done', 'failed'].includes(r.status) && r;
      },
      { timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ status: 'done', approvals: [{ user: MEMBER }] });
    expect(apiCalls('usergroups.users.list')).toContainEqual(expect.objectContaining({ usergroup: ONCALL }));
  });

  it('refuses a user who is in no listed group, and the request stays untouched', async () => {
    const id = await requestCover(2000, 2009);

    const refused = await recorder.nextResponse(await click('approve_repair', id, OUTSIDER));

    expect((refused.body as { text: string }).text).toContain('You are not on the approver list');
    expect(await request(id)).toMatchObject({ status: 'pending', approvals: [] });
    expect(await bot.repairs?.jobState(id)).toBeNull();
  });
});
