import { Redis } from 'ioredis';
import { viewMember } from '../src/jobs/outbox.js';
import { FINAL_STATUSES } from '../src/jobs/requests.js';
import type { FaultRule } from '../src/sandbox/slack-faults.js';
import {
  ALICE,
  BOB,
  botEnv,
  click,
  requestDoc,
  requestRepair,
  type SpawnedBot,
  spawnBot,
  stopBot,
  WEBHOOK_TOKEN,
} from '../test/support/bots.js';
import { clusterState, killMasterAndReplicas } from '../test/support/break.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../test/support/cluster.js';
import { freePort } from '../test/support/free-port.js';
import { loseFirstMasterWithData } from '../test/support/lost-master.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { type RecordedRequest, SlackRecorder } from '../test/support/slack-recorder.js';
import { waitFor } from '../test/support/wait.js';

/** A fresh cluster, queue Redis, local Slack and spawned bot; everything stopped when `task` ends. */
interface Stage {
  readonly cluster: TestCluster;
  readonly recorder: SlackRecorder;
  readonly queue: Redis;
  readonly prefix: string;
  readonly bot: SpawnedBot;
}

async function onStage<T>(
  backend: RedisBackend,
  extra: Record<string, string>,
  task: (stage: Stage) => Promise<T>,
): Promise<T> {
  const recorder = new SlackRecorder();
  let cluster: TestCluster | undefined;
  let queueNode: Awaited<ReturnType<typeof startNode>> | undefined;
  let queue: Redis | undefined;
  let bot: SpawnedBot | undefined;
  try {
    await recorder.start();
    cluster = await startCluster(backend);
    queueNode = await startNode(backend, {});
    queue = new Redis({ port: queueNode.port, host: '127.0.0.1' });
    const prefix = `benchslack${Date.now()}`;
    bot = await spawnBot(botEnv(cluster, recorder, queueNode.port, await freePort(), prefix, extra));
    return await task({ cluster, recorder, queue, prefix, bot });
  } finally {
    // Hung calls are let go first, so that the bot's own shutdown does not wait on them.
    recorder.faults.clear();
    if (bot) await stopBot(bot, 'SIGTERM');
    queue?.disconnect();
    await queueNode?.process.kill();
    await cluster?.stop();
    await recorder.stop();
  }
}

/** Web API calls (and uploads) recorded from `from` (inclusive) to `to` (exclusive). */
const between = (recorder: SlackRecorder, from: number, to = Number.POSITIVE_INFINITY) =>
  recorder.requests.filter((r) => /^\/(api|upload)\//.test(r.path) && r.at >= from && r.at < to);

/** The incident's top messages Slack took since `since` (not thread replies). */
const topPosts = (recorder: SlackRecorder, since: number) =>
  recorder
    .calls('chat.postMessage', { ok: true, sinceMs: since })
    .filter(
      (r) =>
        !(r.body as { thread_ts?: string }).thread_ts && JSON.stringify(r.body).includes(':red_circle: prod'),
    );

/** Calls per method name (`files.*` for the upload steps), e.g. { 'chat.update': 12 }. */
export function perMethod(requests: readonly RecordedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of requests) {
    const method = r.path.startsWith('/upload/') ? 'files.* (upload)' : r.path.slice('/api/'.length);
    counts[method] = (counts[method] ?? 0) + 1;
  }
  return counts;
}

/** The most calls that fell in any sliding 60 s window. */
export function busiestMinute(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] ?? 0) - (sorted[first] ?? 0) >= 60_000) first++;
    best = Math.max(best, last - first + 1);
  }
  return best;
}

export interface RepairRun {
  readonly ackMs: number;
  readonly doneMs: number;
  readonly status: string;
  readonly allOk: boolean;
  /** Web API calls from the deciding click to done: how many went, hung (no answer yet or ever), got 429. */
  readonly calls: { readonly sent: number; readonly hung: number; readonly refused: number };
}

/**
 * The take-over of a master and its replica lost with data: requested, approved once with Slack healthy and the
 * request message in Slack; then `rules` make Slack misbehave and the deciding approval is clicked.
 */
export function repairWhileSlack(backend: RedisBackend, rules: readonly FaultRule[]): Promise<RepairRun> {
  return onStage(backend, {}, async ({ cluster, recorder, queue, prefix, bot }) => {
    const { alive } = await loseFirstMasterWithData(cluster);
    const id = await requestRepair(recorder, bot.port, queue, prefix, 'take-over');
    await waitFor('the request message in Slack', async () => (await requestDoc(queue, prefix, id)).ts);
    const firstAt = Date.now();
    await click(recorder, bot.port, 'approve_repair', id, ALICE);
    const { ts } = await waitFor('the first approval', async () => {
      const doc = await requestDoc(queue, prefix, id);
      return doc.approvals.length === 1 && doc;
    });
    // Slack showed the first approval, and the message may be edited again at once (the outbox's 1 s edit gap):
    // the edit for the deciding click then meets the bad Slack while the repair runs, not after it.
    const member = viewMember({ kind: 'request', id });
    await waitFor('the first approval shown in Slack, the edit gap over', async () => {
      const shown = recorder
        .calls('chat.update', { ok: true, sinceMs: firstAt })
        .some((r) => (r.body as { ts?: string }).ts === ts);
      // The message's last render time is a key that lapses with the edit gap.
      const [last, due] = await Promise.all([
        queue.exists(`${prefix}:slack:last:${member}`),
        queue.zscore(`${prefix}:slack:due`, member),
      ]);
      return shown && due === null && last === 0;
    });

    for (const rule of rules) recorder.faults.set(rule);
    const clickedAt = Date.now();
    const began = performance.now();
    await click(recorder, bot.port, 'approve_repair', id, BOB);
    const ackMs = performance.now() - began;
    const end = await waitFor(
      `request ${id} to end`,
      async () => {
        const doc = await requestDoc(queue, prefix, id);
        return FINAL_STATUSES.includes(doc.status) && doc;
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    const doneMs = performance.now() - began;
    const states = await Promise.all(alive.map((n: TestNode) => clusterState(n)));
    const calls = between(recorder, clickedAt, clickedAt + doneMs);
    return {
      ackMs,
      doneMs,
      status: end.status,
      allOk: states.every((s) => s === 'ok'),
      calls: {
        sent: calls.length,
        hung: calls.filter((r) => r.status === 0).length,
        refused: calls.filter((r) => r.status === 429).length,
      },
    };
  });
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

export interface StormRun {
  readonly alerts: number;
  readonly not202: number;
  readonly p50: number;
  readonly p99: number;
  /** Calls per method from the storm's first alert to 60 s later. */
  readonly minute: Record<string, number>;
  /** The most calls of each method in any sliding 60 s from the kill to the end (what Slack's limits count). */
  readonly busiest: { readonly update: number; readonly post: number; readonly files: number };
  /** Answers 429 from the local Slack (its limits; no fault set), per method, from the kill to the end. */
  readonly refused: Record<string, number>;
  /** ms from the last alert to the top message showing it, or null when it did not within 30 s. */
  readonly currentAfterMs: number | null;
  readonly topPosts: number;
}

/** A master and its replica killed, then 50 alert webhooks per second for 60 s; what Slack saw. */
export function alertStorm(backend: RedisBackend): Promise<StormRun> {
  return onStage(backend, { MONITOR_INTERVAL: '1s' }, async ({ cluster, recorder, bot }) => {
    const killedAt = Date.now();
    await killMasterAndReplicas(cluster, cluster.masters[0] as TestNode);
    const latencies: number[] = [];
    const statuses: number[] = [];
    const alert = async (name: string) => {
      const began = performance.now();
      const response = await fetch(`http://127.0.0.1:${bot.port}/webhooks/alertmanager`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          version: '4',
          status: 'firing',
          alerts: [{ status: 'firing', labels: { alertname: name, cluster: 'prod' }, annotations: {} }],
        }),
      });
      await response.arrayBuffer();
      latencies.push(performance.now() - began);
      statuses.push(response.status);
    };
    const stormAt = Date.now();
    for (let second = 0; second < 60; second++) {
      const tick = Date.now();
      await Promise.all(Array.from({ length: 50 }, (_, i) => alert(`RedisStorm${(second * 50 + i) % 40}`)));
      // The scenario's pacing: the next 50 alerts one second after these began.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - tick))));
    }
    await alert('StormLast');
    const lastAt = Date.now();
    const top = () =>
      recorder.state.messages.find(
        (m) =>
          m.threadTs === null &&
          m.at >= killedAt &&
          `${m.text}${JSON.stringify(m.blocks)}`.includes(':red_circle: prod'),
      );
    const shown = await waitFor(
      'the top message to show the last alert',
      () => JSON.stringify(top()?.blocks ?? []).includes('StormLast') && Date.now(),
      { timeoutMs: 30_000, intervalMs: 20 },
    ).catch(() => null);
    const all = between(recorder, killedAt);
    const times = (match: (path: string) => boolean) => all.filter((r) => match(r.path)).map((r) => r.at);
    latencies.sort((a, b) => a - b);
    return {
      alerts: statuses.length,
      not202: statuses.filter((s) => s !== 202).length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      minute: perMethod(between(recorder, stormAt, stormAt + 60_000)),
      busiest: {
        update: busiestMinute(times((p) => p === '/api/chat.update')),
        post: busiestMinute(times((p) => p === '/api/chat.postMessage')),
        files: busiestMinute(times((p) => p.startsWith('/api/files.') || p.startsWith('/upload/'))),
      },
      refused: perMethod(all.filter((r) => r.status === 429)),
      currentAfterMs: shown === null ? null : shown - lastAt,
      topPosts: topPosts(recorder, killedAt).length,
    };
  });
}

export interface LimitedPostRun {
  /** ms from the limit lifting to Slack taking the incident's top message (null: not within 20 s). */
  readonly afterLiftMs: number | null;
  /** Calls per method while chat.postMessage answered 429 (30 s), and how many of them were answered 429. */
  readonly during: Record<string, number>;
  readonly refusedDuring: number;
  readonly topPosts: number;
}

/** chat.postMessage answers 429 (Retry-After 30) for 30 s from just before a cluster goes down. */
export function postUnderLimit(backend: RedisBackend): Promise<LimitedPostRun> {
  return onStage(backend, { MONITOR_INTERVAL: '1s' }, async ({ cluster, recorder }) => {
    const since = Date.now();
    recorder.faults.set({ method: 'chat.postMessage', fault: { kind: 'rate-limited', retryAfterSec: 30 } });
    await killMasterAndReplicas(cluster, cluster.masters[0] as TestNode);
    // The scenario: Slack refuses posts for 30 s, then takes them again.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 30_000 - (Date.now() - since))));
    recorder.faults.clear();
    const lifted = Date.now();
    const post = await waitFor('the incident post', () => topPosts(recorder, since)[0], {
      timeoutMs: 20_000,
      intervalMs: 20,
    }).catch(() => null);
    const during = between(recorder, since, lifted);
    return {
      afterLiftMs: post ? post.at - lifted : null,
      during: perMethod(during),
      refusedDuring: during.filter((r) => r.status === 429).length,
      topPosts: topPosts(recorder, since).length,
    };
  });
}
