import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../src/sandbox/console-server.js';
import type { FaultRule } from '../../src/sandbox/slack-faults.js';
import { testBackend } from '../support/backend.js';
import {
  ALICE,
  BOB,
  botEnv,
  click,
  finalState,
  readyz,
  requestDoc,
  requestRepair,
  type SpawnedBot,
  spawnBot,
  stopBot,
  WEBHOOK_TOKEN,
} from '../support/bots.js';
import { clusterState, killMasterAndReplicas } from '../support/break.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import { loseFirstMasterWithData } from '../support/lost-master.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

let backend: RedisBackend;
let recorder: SlackRecorder;
let cluster: TestCluster | undefined;
let queue: { port: number; process: RedisProcess } | undefined;
let queueClient: Redis | undefined;
let bot: SpawnedBot | undefined;

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
});
afterEach(async () => {
  recorder.faults.clear();
  if (bot) await stopBot(bot, 'SIGTERM');
  bot = undefined;
  queueClient?.disconnect();
  await queue?.process.kill();
  await cluster?.stop();
  [cluster, queue, queueClient] = [undefined, undefined, undefined];
});
afterAll(async () => {
  await recorder?.stop();
  await backend?.stopAll();
});

const PREFIX = () => `bad${Date.now()}`;
const text = (r: RecordedRequest) => JSON.stringify(r.body);

/** A bot (its own process, HTTP mode, the local Slack) watching `cluster`. */
async function startBot(prefix: string, extra: Record<string, string> = {}): Promise<SpawnedBot> {
  queue = await startNode(backend, {});
  queueClient = new Redis({ port: queue.port, host: '127.0.0.1' });
  bot = await spawnBot(
    botEnv(cluster as TestCluster, recorder, queue.port, await freePort(), prefix, {
      LOG_LEVEL: 'info',
      ...extra,
    }),
  );
  return bot;
}

/**
 * A master and its replica dead; a take-over requested and approved once with Slack healthy; then Slack turns bad
 * (`rules`) and the deciding approval is clicked. Returns how long the ack and the repair took.
 */
async function decideWhileSlack(rules: readonly FaultRule[]) {
  cluster = await startCluster(backend);
  const dead = await loseFirstMasterWithData(cluster);
  const prefix = PREFIX();
  const running = await startBot(prefix);
  const redis = queueClient as Redis;
  const id = await requestRepair(recorder, running.port, redis, prefix, 'take-over');
  await waitFor('the request message in Slack', async () => (await requestDoc(redis, prefix, id)).ts);
  await click(recorder, running.port, 'approve_repair', id, ALICE);
  await waitFor(
    'the first approval',
    async () => (await requestDoc(redis, prefix, id)).approvals.length === 1,
  );

  for (const rule of rules) recorder.faults.set(rule);
  const clicked = Date.now();
  await click(recorder, running.port, 'approve_repair', id, BOB);
  const ackMs = Date.now() - clicked;
  const end = await finalState(redis, prefix, id, 60_000);
  const repairMs = Date.now() - clicked;
  const states = await Promise.all(dead.alive.map((n: TestNode) => clusterState(n)));
  return { id, end, ackMs, repairMs, states, prefix, ts: (await requestDoc(redis, prefix, id)).ts };
}

/** Calls to edit the request's message that Slack did not take (`how`: hung, refused…). */
const refused = (ts: string | null | undefined, how: (r: RecordedRequest) => boolean) =>
  recorder.requests.some(
    (r) => r.path === '/api/chat.update' && (r.body as { ts?: string }).ts === ts && how(r),
  );

/** Slack answers again: the request's message shows the finished repair (an edit Slack accepted). */
const shownFinished = (ts: string | null | undefined) =>
  waitFor(
    'the request message to show the finished repair',
    () =>
      recorder
        .calls('chat.update', { ok: true })
        .some((r) => (r.body as { ts?: string }).ts === ts && text(r).includes('*Result:* Repaired.')),
    { timeoutMs: 60_000, intervalMs: 100 },
  );

describe('a repair two people approved, while Slack has a bad day', () => {
  it('runs to done while every Web API method hangs, and shows it once Slack answers', async () => {
    const run = await decideWhileSlack([{ method: '*', fault: { kind: 'hang' } }]);

    expect(run.ackMs).toBeLessThan(3000);
    expect(run.end.status).toBe('done');
    expect(run.states.every((s) => s === 'ok')).toBe(true);
    // The hung calls did not hold the repair: it ended within one Web API timeout of a healthy run's time.
    expect(run.repairMs).toBeLessThan(20_000);
    await waitFor('an edit of the request message to hang', () => refused(run.ts, (r) => r.status === 0));
    recorder.faults.clear();
    await shownFinished(run.ts);
  });

  it('runs to done while every Web API method answers 429 with Retry-After: 45', async () => {
    const run = await decideWhileSlack([{ method: '*', fault: { kind: 'rate-limited', retryAfterSec: 45 } }]);

    expect(run.ackMs).toBeLessThan(3000);
    expect(run.end.status).toBe('done');
    expect(run.states.every((s) => s === 'ok')).toBe(true);
    expect(run.repairMs).toBeLessThan(20_000);
    await waitFor('an edit of the request message to be refused', () =>
      refused(run.ts, (r) => r.status === 429),
    );
    recorder.faults.clear();
    await shownFinished(run.ts);

    // Retry-After is honoured: after the 429, nothing edits the message again for 45 s, then the edit lands.
    const edits = recorder.requests.filter(
      (r) => r.path === '/api/chat.update' && (r.body as { ts?: string }).ts === run.ts,
    );
    const first = edits.findIndex((r) => r.status === 429);
    const [limited, next] = [edits[first], edits[first + 1]];
    expect(next?.status).toBe(200);
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(44_000);
  }, 90_000);

  it('runs to done when Slack says not_in_channel, says it once with the fix, and stays ready', async () => {
    const run = await decideWhileSlack([
      { method: 'chat.update', fault: { kind: 'error', error: 'not_in_channel' } },
      { method: 'chat.postMessage', fault: { kind: 'error', error: 'not_in_channel' } },
    ]);
    const running = bot as SpawnedBot;

    expect(run.end.status).toBe('done');
    expect(run.states.every((s) => s === 'ok')).toBe(true);
    await waitFor('the refusal to be counted', async () =>
      /slotwatch_slack_calls_total\{method="chat.update",result="not_in_channel"\} [1-9]/.test(
        await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text(),
      ),
    );
    const health = (await (await fetch(`http://127.0.0.1:${running.port}/healthz`)).json()) as {
      slack: { problems: { method: string; error: string; fix: string; count: number }[] };
    };
    expect(health.slack.problems).toContainEqual(
      expect.objectContaining({
        method: 'chat.update',
        error: 'not_in_channel',
        fix: 'invite the bot to the channel: /invite @slotwatch in C1',
      }),
    );
    const said = running
      .output()
      .split('\n')
      .filter((line) => line.includes('Slack refused a call') && line.includes('"method":"chat.update"'));
    expect(said).toHaveLength(1);
    expect((await readyz(running.port)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${running.port}/metrics`)).text()).toMatch(
      /^slotwatch_slack_backlog \d+$/m,
    );
  });
});

/** The top message of the incident opened after `since`: Slack's accepted posts of it (not thread replies). */
const topPosts = (since: number) =>
  recorder
    .calls('chat.postMessage', { ok: true, sinceMs: since })
    .filter((r) => !(r.body as { thread_ts?: string }).thread_ts && text(r).includes(':red_circle: prod'));

describe('incidents while Slack has a bad day', () => {
  it('posts the incident once, soon after a 30 s rate limit of chat.postMessage lifts, with the state of then', async () => {
    cluster = await startCluster(backend);
    await startBot(PREFIX(), { MONITOR_INTERVAL: '1s' });
    const since = Date.now();
    recorder.faults.set({ method: 'chat.postMessage', fault: { kind: 'rate-limited', retryAfterSec: 30 } });
    await killMasterAndReplicas(cluster, cluster.masters[0] as TestNode);
    // The scenario: Slack refuses posts for 30 s, then takes them again.
    const lifted = await new Promise<number>((resolve) =>
      setTimeout(
        () => {
          recorder.faults.clear();
          resolve(Date.now());
        },
        30_000 - (Date.now() - since),
      ),
    );
    const [post] = await waitFor('the incident post', () => topPosts(since)[0] && topPosts(since), {
      timeoutMs: 20_000,
    }).catch((e) => {
      console.error(
        'DEBUG',
        JSON.stringify(
          recorder.requests
            .filter((r) => r.at >= since)
            .map((r) => [r.path, r.status, r.error, r.at - since, JSON.stringify(r.body).slice(0, 120)]),
        ),
        (bot as SpawnedBot).output().slice(-3000),
      );
      throw e;
    });
    const during = recorder.requests.filter(
      (r) => r.path === '/api/chat.postMessage' && r.at >= since && r.at < lifted,
    );

    expect(during.length).toBeLessThanOrEqual(5);
    expect((post?.at ?? 0) - lifted).toBeLessThan(10_000);
    expect(topPosts(since)).toHaveLength(1);
    // What it shows is the state when it landed: the master confirmed failed by then, not the first PFAIL.
    expect(text(post as RecordedRequest)).toContain('5,461 slots (33%) down');
  }, 90_000);

  it('keeps within Slack limits through a 60 s storm of 3,000 alerts, and the top message is current at the end', async () => {
    cluster = await startCluster(backend);
    const running = await startBot(PREFIX(), { MONITOR_INTERVAL: '1s' });
    const since = Date.now();
    await killMasterAndReplicas(cluster, cluster.masters[0] as TestNode);
    const alert = (name: string) =>
      fetch(`http://127.0.0.1:${running.port}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          status: 'firing',
          alerts: [{ status: 'firing', labels: { alertname: name, cluster: 'prod' }, annotations: {} }],
        }),
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (let second = 0; second < 60; second++) {
      const tick = Date.now();
      statuses.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, i) => alert(`RedisStorm${(second * 50 + i) % 40}`)),
        )),
      );
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - tick))));
    }
    statuses.push(await alert('StormLast'));
    const minute = (method: string) =>
      recorder.requests.filter((r) => r.path === `/api/${method}` && r.at >= since && r.at < since + 60_000);

    expect(statuses.filter((s) => s !== 202)).toEqual([]);
    expect(minute('chat.update').length).toBeLessThanOrEqual(50);
    expect(minute('chat.postMessage').length).toBeLessThanOrEqual(60);
    expect(recorder.requests.filter((r) => r.status === 429 && r.at >= since)).toEqual([]);
    // What the channel shows now (the console applies every edit Slack accepted).
    await waitFor(
      'the top message to show the last alert',
      () =>
        recorder.state.messages.some(
          (m) => m.threadTs === null && m.at >= since && JSON.stringify(m.blocks).includes('StormLast'),
        ),
      { timeoutMs: 30_000 },
    ).catch((e) => {
      console.error(
        'DEBUGSTORM',
        JSON.stringify(
          recorder.state.messages
            .filter((m) => m.at >= since && m.threadTs === null)
            .map((m) => JSON.stringify(m.blocks).slice(0, 1500)),
        ),
        minute('chat.update').length,
        minute('chat.postMessage').length,
        (bot as SpawnedBot)
          .output()
          .split('\n')
          .filter((l) => /slack|render|incident/i.test(l))
          .slice(-20)
          .join('\n'),
      );
      throw e;
    });
    expect(topPosts(since)).toHaveLength(1);
  }, 150_000);
});
