import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackend } from '../support/backend.js';
import { SECRET, type SpawnedBot, spawnBot, stopBot } from '../support/bots.js';
import { waitUntilState } from '../support/break.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { freePort } from '../support/free-port.js';
import type { RedisBackend, RedisProcess } from '../support/redis-backend.js';
import { callsPerProbe, clusterNodesCalls, clustersVar, connectedPids } from '../support/replicas.js';
import { SlackRecorder } from '../support/slack-recorder.js';
import { waitFor } from '../support/wait.js';

// Three bot processes share one queue Redis and watch three real clusters: each cluster is probed once per
// monitor interval across them, a replica killed inside a probe has that cluster probed again within about
// one interval, and a CLUSTERDOWN makes exactly one incident post.

const INTERVAL_MS = 4000;
/** Intervals each count runs over; a count may be one off at either end of the window. */
const WINDOW = 3;

let backend: RedisBackend;
let recorder: SlackRecorder;
let queue: { port: number; process: RedisProcess };
const clusters: Record<string, TestCluster> = {};
const bots: SpawnedBot[] = [];
const prefix = `rp${Date.now()}`;
let probeCost = 0;

const first = (cluster: TestCluster | undefined): TestNode => {
  const node = cluster?.nodes[0];
  if (!node) throw new Error('no such cluster');
  return node;
};

/** Probes of each cluster (CLUSTER NODES on its first node over what one probe costs) during `intervals`. */
async function probesDuring(intervals: number): Promise<Record<string, number>> {
  const names = Object.keys(clusters);
  const count = () => Promise.all(names.map((n) => clusterNodesCalls(first(clusters[n]).redis)));
  const before = await count();
  await new Promise((resolve) => setTimeout(resolve, intervals * INTERVAL_MS));
  const after = await count();
  return Object.fromEntries(names.map((n, i) => [n, ((after[i] ?? 0) - (before[i] ?? 0)) / probeCost]));
}

const topPosts = (cluster: string) =>
  recorder.requests.filter((r) => {
    const body = r.body as { text?: string; thread_ts?: string };
    return (
      r.path === '/api/chat.postMessage' &&
      !body.thread_ts &&
      String(body.text).startsWith(`:rotating_light: Incident: ${cluster}:`)
    );
  });

beforeAll(async () => {
  backend = await testBackend();
  recorder = new SlackRecorder();
  await recorder.start();
  const [quiet, down, other, started] = await Promise.all([
    // Paused for a moment in the kill test: a long node timeout keeps that from failing the node.
    startCluster(backend, { masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 15_000 }),
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
    startCluster(backend, { masters: 3, replicasPerMaster: 0 }),
    startNode(backend, {}),
  ]);
  Object.assign(clusters, { quiet, down, other });
  queue = started;
  probeCost = await callsPerProbe(quiet);
  const env = async (): Promise<Record<string, string>> => ({
    PATH: process.env.PATH ?? '',
    SLACK_BOT_TOKEN: 'xoxb-test',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS: clustersVar(clusters),
    ALERT_CHANNEL: 'C1',
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queue.port}`,
    QUEUE_PREFIX: prefix,
    MONITOR_INTERVAL: `${INTERVAL_MS / 1000}s`,
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  });
  bots.push(...(await Promise.all([env(), env(), env()].map(async (vars) => spawnBot(await vars)))));
});

afterAll(async () => {
  for (const bot of bots.splice(0)) await stopBot(bot, 'SIGKILL');
  await recorder?.stop();
  await Promise.all(Object.values(clusters).map((c) => c.stop()));
  await queue?.process.kill();
  await backend?.stopAll();
});

describe('three replicas watching three clusters', () => {
  it('costs one CLUSTER NODES per node per probe', () => {
    expect(probeCost).toBe(1);
  });

  it('probes each cluster once per interval across the replicas, not once per replica', async () => {
    const probes = await probesDuring(WINDOW);
    for (const count of Object.values(probes)) {
      expect(count).toBeGreaterThanOrEqual(WINDOW - 1);
      expect(count).toBeLessThanOrEqual(WINDOW + 1);
    }
  });

  it('probes a cluster again within about one interval when the replica probing it is killed', async () => {
    const quiet = clusters.quiet as TestCluster;
    const held = quiet.nodes[2] as TestNode;
    const pids = bots.map((b) => b.child.pid ?? 0);
    // Hold one node's answer so that a probe is caught in flight, and kill the replica that makes it.
    await held.process.pause();
    let victim: number | undefined;
    let before = 0;
    try {
      victim = await waitFor(
        'a replica probing the held node',
        async () => (await connectedPids(held.port, pids))[0],
        { timeoutMs: 3 * INTERVAL_MS, intervalMs: 20 },
      );
      before = await clusterNodesCalls(first(quiet).redis);
      process.kill(victim, 'SIGKILL');
    } finally {
      await held.process.resume();
    }
    const killedAt = Date.now();
    const dead = bots.findIndex((b) => b.child.pid === victim);
    await bots[dead]?.exit;
    bots.splice(dead, 1);
    await waitFor(
      'the cluster to be probed again',
      async () => (await clusterNodesCalls(first(quiet).redis)) > before,
      { timeoutMs: INTERVAL_MS + 1000, intervalMs: 50 },
    );
    console.log(`picked up ${Date.now() - killedAt} ms after the kill (interval ${INTERVAL_MS} ms)`);
    const probes = await probesDuring(WINDOW);
    for (const count of Object.values(probes)) {
      expect(count).toBeGreaterThanOrEqual(WINDOW - 1);
      expect(count).toBeLessThanOrEqual(WINDOW + 1);
    }
  });

  it('posts one incident for a CLUSTERDOWN, however many replicas look at it', async () => {
    const down = clusters.down as TestCluster;
    const [dead, ...alive] = down.masters;
    await dead?.process.kill();
    await waitUntilState(alive, 'fail');
    const observer = alive[0] as TestNode;
    const seen = await clusterNodesCalls(observer.redis);
    // Two more probes after every node said fail: a second post would have happened by then.
    await waitFor(
      'two probes of the failed cluster',
      async () => (await clusterNodesCalls(observer.redis)) >= seen + 2 * probeCost,
      { timeoutMs: 4 * INTERVAL_MS },
    );
    expect(topPosts('down')).toHaveLength(1);
    expect(topPosts('quiet')).toHaveLength(0);
    expect(topPosts('other')).toHaveLength(0);
    for (const bot of bots) {
      expect(bot.child.exitCode).toBeNull();
      expect(bot.output()).not.toContain('unhandled rejection');
    }
  });
});
