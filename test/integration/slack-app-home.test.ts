import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import {
  ALICE,
  BOB,
  botEnv,
  CAROL,
  requestRepair,
  SECRET,
  type SpawnedBot,
  spawnBot,
  stopBot,
} from '../support/bots.js';
import { killMasterAndReplicas } from '../support/break.js';
import { startCluster, startNode, type TestCluster } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { slackSignature } from '../support/slack-signing.js';
import { waitFor } from '../support/wait.js';

const PREFIX = `home${Date.now()}`;
let backend: RedisBackend;
let prod: TestCluster;
let cache: TestCluster;
let queueNode: Awaited<ReturnType<typeof startNode>>;
let queue: Redis;
let recorder: SlackRecorder;
let bot: SpawnedBot;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  [prod, cache] = await Promise.all([
    startCluster(backend, { masters: 3, replicasPerMaster: 1 }),
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
  ]);
  queueNode = await startNode(backend, {});
  queue = new Redis({ port: queueNode.port, host: '127.0.0.1' });
  const [victim] = prod.masters;
  if (!victim) throw new Error('no master');
  await killMasterAndReplicas(prod, victim);
  bot = await spawnBot(
    botEnv(prod, recorder, queueNode.port, await freePort(), PREFIX, {
      CLUSTERS: `prod=${prod.nodes.map((n) => n.address).join(',')};cache=${cache.seeds.join(',')}`,
      // A long interval: the incident and the Home tab come from the people below, not from ticks.
      MONITOR_INTERVAL: '1h',
    }),
  );
});

afterAll(async () => {
  if (bot) await stopBot(bot);
  await recorder?.stop();
  await prod?.stop();
  await cache?.stop();
  queue?.disconnect();
  await queueNode?.process.kill();
  await backend?.stopAll();
});

/** Slack's Events API request for someone opening the app's Home tab, signed. */
async function openHome(user: string): Promise<number> {
  const body = JSON.stringify({
    token: 'legacy-unused',
    team_id: 'T1',
    api_app_id: 'A1',
    type: 'event_callback',
    event_id: `Ev${Date.now()}${user}`,
    event_time: Math.floor(Date.now() / 1000),
    event: {
      type: 'app_home_opened',
      user,
      channel: 'D0HOME',
      tab: 'home',
      event_ts: `${Date.now() / 1000}`,
    },
  });
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await fetch(`http://127.0.0.1:${bot.port}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(SECRET, timestamp, body),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

type Block = { type: string; text?: { text: string }; elements?: { text: string }[] };
const textOf = (blocks: Block[]) =>
  blocks.map((b) => b.text?.text ?? b.elements?.map((e) => e.text).join(' ') ?? '').join('\n');

/** The Home tab as last published for `user`, once every cluster in it was probed. */
async function homeOf(user: string, since: number): Promise<string> {
  const publish = await waitFor(`the Home tab of ${user} with every cluster probed`, () =>
    recorder.requests
      .filter((r) => r.path === '/api/views.publish' && r.at >= since)
      .map((r) => r.body as { user_id: string; view: string | { blocks: Block[] } })
      .filter((b) => b.user_id === user)
      .map((b) => (typeof b.view === 'string' ? (JSON.parse(b.view) as { blocks: Block[] }) : b.view))
      .map((view) => textOf(view.blocks))
      .find((text) => !text.includes('checking…')),
  );
  return publish;
}

describe('the App Home tab', () => {
  it('shows approvals waiting first, then every cluster worst first, for whoever opens it', async () => {
    const id = await requestRepair(recorder, bot.port, queue, PREFIX, 'take-over');

    const since = Date.now();
    expect(await openHome(BOB)).toBe(200);
    expect(await openHome(CAROL)).toBe(200);
    const bob = await homeOf(BOB, since);
    const carol = await homeOf(CAROL, since);

    expect(id).toBeTruthy();
    expect(bob.indexOf('Waiting for approval (1)')).toBeGreaterThan(-1);
    expect(bob.indexOf('Waiting for approval')).toBeLessThan(bob.indexOf('Clusters (2)'));
    expect(bob).toMatch(/\*prod\* — .*can lose data/);
    expect(bob).toContain(`by <@${CAROL}> · 0/2 approvals`);
    expect(bob).toContain('*you can approve it*');
    expect(carol).toContain('you asked for it (someone else must approve)');
    // prod is down and listed before the healthy cache cluster.
    expect(bob).toMatch(/:red_circle: \*prod\* CLUSTERDOWN · 5461 slots \(33%\) down/);
    // cache serves every slot; its masters have no replica (warnings), which is not an incident.
    expect(bob).toContain(':large_orange_circle: *cache* ok, 3 warnings · 3 nodes');
    const clusters = bob.slice(bob.indexOf('Clusters (2)'));
    expect(clusters.indexOf('*prod*')).toBeGreaterThan(-1);
    expect(clusters.indexOf('*prod*')).toBeLessThan(clusters.indexOf('*cache*'));
    expect(bob).toContain('1 need attention');
    expect(bob).not.toContain(ALICE);
  });
});
