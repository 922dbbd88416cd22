import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SECRET, type SpawnedBot, spawnBot, stopBot } from '../test/support/bots.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../test/support/cluster.js';
import { freePort } from '../test/support/free-port.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { callsPerProbe, clusterNodesCalls } from '../test/support/replicas.js';
import { SlackRecorder } from '../test/support/slack-recorder.js';
import { waitFor } from '../test/support/wait.js';
import { type EmulatedCluster, startEmulatedCluster } from './emulated-cluster.js';
import { recordGoal } from './goals.js';

const REPLICAS = 3;
const CLUSTERS = 20;
const INTERVAL_MS = 5000;
const ROUNDS = 2;
/** The bot's V8 flags, as `npm start` and the image set them; BENCH_BOT_NODE_OPTIONS tries others. */
export const HEAP_LIMIT =
  process.env.BENCH_BOT_NODE_OPTIONS ?? '--max-old-space-size=1024 --max-semi-space-size=2';

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

/** Resident set of a process in MB, from /proc (0 once it is gone). */
function rssMb(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** Samples every bot's RSS twice a second; peak and last per pid. */
class RssSampler {
  readonly peak = new Map<number, number>();
  readonly last = new Map<number, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: () => number[]) {
    this.timer = setInterval(() => this.sample(), 500);
  }

  sample(): void {
    for (const pid of this.pids()) {
      const mb = rssMb(pid);
      if (mb === 0) continue;
      this.last.set(pid, mb);
      this.peak.set(pid, Math.max(mb, this.peak.get(pid) ?? 0));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

interface Watched {
  readonly name: string;
  readonly channel: string;
  readonly seeds: readonly string[];
}

async function clustersFile(watched: readonly Watched[]): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'slotwatch-bench-')), 'clusters.json');
  await writeFile(path, JSON.stringify({ clusters: watched.map((w) => ({ ...w, seeds: [...w.seeds] })) }));
  return path;
}

async function botEnv(
  recorder: SlackRecorder,
  queuePort: number,
  file: string,
  prefix: string,
  interval: string,
): Promise<Record<string, string>> {
  return {
    PATH: process.env.PATH ?? '',
    // As the Docker image and `npm start` run it: V8 collects before the heap grows past this.
    NODE_OPTIONS: HEAP_LIMIT,
    SLACK_BOT_TOKEN: 'xoxb-bench',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: recorder.apiUrl,
    CLUSTERS_FILE: file,
    QUEUE_REDIS_URL: `redis://127.0.0.1:${queuePort}`,
    QUEUE_PREFIX: prefix,
    MONITOR_INTERVAL: interval,
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
  };
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** Top incident posts of `cluster` recorded after `since`. */
const incidentPosts = (recorder: SlackRecorder, cluster: string, since: number) =>
  recorder.requests.filter((r) => {
    const body = r.body as { text?: string; thread_ts?: string };
    return (
      r.at >= since &&
      r.path === '/api/chat.postMessage' &&
      !body.thread_ts &&
      String(body.text).startsWith(`:rotating_light: Incident: ${cluster}:`)
    );
  });

const recoveries = (recorder: SlackRecorder, cluster: string, since: number) =>
  recorder.requests.filter((r) => {
    const body = r.body as { text?: string };
    return (
      r.at >= since &&
      r.path === '/api/chat.postMessage' &&
      String(body.text).startsWith(`:white_check_mark: ${cluster} recovered`)
    );
  });

const channelOf = (name: string) => `C${name.slice(1)}`;

interface Round {
  readonly delays: number[];
  readonly posts: number[];
  /** Incidents posted but never closed in Slack (the bot lost them). */
  readonly orphans: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One round: each cluster loses slots 0-99 on every node (CLUSTERDOWN at once, cluster_state:fail) at a
 * random moment within one interval, then gets them back once its incident is posted; the round ends when
 * every incident has closed. `during` runs when the first incident of the round is posted (jobs in flight).
 * Returns each cluster's CLUSTERDOWN-to-post delay and how many top posts it made.
 */
async function round(
  recorder: SlackRecorder,
  queue: Redis,
  prefix: string,
  clusters: readonly { name: string; cluster: TestCluster }[],
  during: () => Promise<void> = async () => {},
): Promise<Round> {
  const brokeAt = new Map<string, number>();
  await Promise.all(
    clusters.map(async ({ name, cluster }) => {
      await sleep(Math.random() * INTERVAL_MS);
      await Promise.all(
        cluster.nodes.map((n) => n.redis.call('CLUSTER', 'DELSLOTSRANGE', 0, 99).catch(() => null)),
      );
      brokeAt.set(name, Date.now());
    }),
  );
  const firstPost = Math.min(...brokeAt.values());
  await waitFor('a first incident post', () =>
    clusters.some(({ name }) => incidentPosts(recorder, name, firstPost).length > 0),
  );
  await during();
  const delays: number[] = [];
  /** When each cluster's incident was posted: its recovery reply can only come after that. */
  const postedAt = new Map<string, number>();
  await Promise.all(
    clusters.map(async ({ name, cluster }) => {
      const since = brokeAt.get(name) ?? 0;
      const post = await waitFor(
        `the incident post of ${name}`,
        () => incidentPosts(recorder, name, since)[0],
        { timeoutMs: 60_000, intervalMs: 20 },
      );
      delays.push(post.at - since);
      postedAt.set(name, post.at);
      await cluster.masters[0]?.redis.call('CLUSTER', 'ADDSLOTSRANGE', 0, 99);
    }),
  );
  // A replica killed between its Slack post and recording the incident leaves a post the bot does not know
  // (no recovery reply will come): wait for no open incident, twice an interval apart.
  const settled = () =>
    Promise.all(
      clusters.map(({ name }) =>
        waitFor(`${name} to recover`, async () => (await queue.exists(`${prefix}:incident:${name}`)) === 0, {
          timeoutMs: 10 * INTERVAL_MS,
          intervalMs: 50,
        }),
      ),
    );
  await settled();
  await sleep(2 * INTERVAL_MS);
  await settled();
  const posts = clusters.map(({ name }) => incidentPosts(recorder, name, brokeAt.get(name) ?? 0).length);
  // Counted from each cluster's own post: a cluster healed early may recover before a slower one has posted.
  const orphans = clusters
    .map(({ name }, i) => (posts[i] ?? 0) - recoveries(recorder, name, postedAt.get(name) ?? 0).length)
    .reduce((sum, n) => sum + Math.max(0, n), 0);
  return { delays, posts, orphans };
}

/** 3 replicas × 20 real 3-node clusters: probes per interval, CLUSTERDOWN-to-post with and without a kill, RSS. */
async function replicasOnRealClusters(backend: RedisBackend): Promise<string[]> {
  const recorder = new SlackRecorder();
  await recorder.start();
  const queue = await startNode(backend, {});
  const clusters: { name: string; cluster: TestCluster }[] = [];
  for (let i = 0; i < CLUSTERS; i += 5) {
    const batch = await Promise.all(
      Array.from({ length: 5 }, () =>
        startCluster(backend, { masters: 3, replicasPerMaster: 0, nodeTimeoutMs: 5000 }),
      ),
    );
    clusters.push(...batch.map((cluster, j) => ({ name: `c${i + j + 1}`, cluster })));
  }
  const bots: SpawnedBot[] = [];
  const sampler = new RssSampler(() => bots.map((b) => b.child.pid ?? 0));
  const rows: string[] = [];
  try {
    const cost = await callsPerProbe(clusters[0]?.cluster as TestCluster);
    const file = await clustersFile(
      clusters.map(({ name, cluster }) => ({
        name,
        channel: channelOf(name),
        seeds: cluster.nodes.map((n) => n.address),
      })),
    );
    const prefix = `brp${Date.now()}`;
    const spawn = async () =>
      spawnBot(await botEnv(recorder, queue.port, file, prefix, `${INTERVAL_MS / 1000}s`));
    bots.push(...(await Promise.all(Array.from({ length: REPLICAS }, spawn))));
    await sleep(2 * INTERVAL_MS);

    const windowIntervals = 6;
    const count = () =>
      Promise.all(clusters.map(({ cluster }) => clusterNodesCalls((cluster.nodes[1] as TestNode).redis)));
    const before = await count();
    await sleep(windowIntervals * INTERVAL_MS);
    const after = await count();
    const perInterval = after.map((a, i) => (a - (before[i] ?? 0)) / cost / windowIntervals);
    rows.push(
      `| probes per cluster per interval (${REPLICAS} replicas, ${CLUSTERS} clusters, ${windowIntervals} intervals of ${INTERVAL_MS / 1000} s; one probe = ${cost} CLUSTER NODES per node) | mean ${fmt(perInterval.reduce((a, b) => a + b, 0) / perInterval.length, 2)}, min ${fmt(Math.min(...perInterval), 2)}, max ${fmt(Math.max(...perInterval), 2)} |`,
    );

    const queueClient = new Redis({ port: queue.port, host: '127.0.0.1' });
    const rounds = async (during?: () => Promise<void>): Promise<Round> => {
      const all: Round = { delays: [], posts: [], orphans: 0 };
      let orphans = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const result = await round(recorder, queueClient, prefix, clusters, during);
        all.delays.push(...result.delays);
        all.posts.push(...result.posts);
        orphans += result.orphans;
        if (during) bots.push(await spawn());
      }
      return { ...all, orphans };
    };
    const calm = await rounds();
    const killed = await rounds(async () => {
      const victim = bots.shift();
      if (victim) await stopBot(victim, 'SIGKILL');
    }).finally(() => queueClient.disconnect());
    sampler.sample();
    const line = (what: string, d: Round) =>
      `| CLUSTERDOWN to incident post, ${what} (${d.delays.length} CLUSTERDOWNs) | p50 ${fmt(percentile(d.delays, 50))} ms, p99 ${fmt(percentile(d.delays, 99))} ms, max ${fmt(Math.max(...d.delays))} ms; top posts per CLUSTERDOWN: ${d.posts.filter((p) => p === 1).length} x 1, ${d.posts.filter((p) => p !== 1).length} other (${d.posts.filter((p) => p !== 1).join(', ') || 'none'}); posted but never closed: ${d.orphans} |`;
    rows.push(line(`${REPLICAS} replicas`, calm));
    rows.push(line('a replica SIGKILLed at the first post of each round', killed));
    const peaks = [...sampler.peak.values()];
    const lasts = bots.map((b) => sampler.last.get(b.child.pid ?? 0) ?? 0);
    rows.push(
      `| RSS per replica (${CLUSTERS} clusters of 3 nodes, node ${HEAP_LIMIT}) | peak ${peaks.map((p) => fmt(p)).join(' / ')} MB over the ${peaks.length} processes; at the end ${lasts.map((p) => fmt(p)).join(' / ')} MB |`,
    );
  } finally {
    sampler.stop();
    for (const bot of bots.splice(0)) {
      await writeFile(join(tmpdir(), `slotwatch-bench-bot-${bot.child.pid}.log`), bot.output());
      await stopBot(bot, 'SIGKILL');
    }
    await recorder.stop();
    await Promise.all(clusters.map(({ cluster }) => cluster.stop()));
    await queue.process.kill();
  }
  return rows;
}

/** One bot watching 20 clusters of 60 nodes, emulated (issue 13's memory goal): its RSS. */
async function oneBotManyNodes(backend: RedisBackend, size = 60): Promise<string[]> {
  const recorder = new SlackRecorder();
  await recorder.start();
  const queue = await startNode(backend, {});
  const emulated: EmulatedCluster[] = [];
  let bot: SpawnedBot | undefined;
  const sampler = new RssSampler(() => (bot?.child.pid ? [bot.child.pid] : []));
  try {
    for (let i = 0; i < CLUSTERS; i++) emulated.push(await startEmulatedCluster(size, size / 2));
    const file = await clustersFile(
      emulated.map((c, i) => ({ name: `big${i + 1}`, channel: `C${i + 1}`, seeds: c.seeds })),
    );
    bot = await spawnBot(await botEnv(recorder, queue.port, file, `bbig${Date.now()}`, '15s'));
    // Each probe opens one connection per node: wait for 8 probes of every cluster (two minutes at 15 s).
    const probes = 8;
    await waitFor(
      `${probes} probes of every cluster`,
      () => emulated.every((c) => (c.servers[size - 1]?.stats.connections ?? 0) >= probes),
      { timeoutMs: (probes + 2) * 15_000, intervalMs: 500 },
    );
    sampler.sample();
    const pid = bot.child.pid ?? 0;
    const posts = recorder.requests.filter((r) => r.path === '/api/chat.postMessage').length;
    const peak = sampler.peak.get(pid) ?? 0;
    recordGoal({
      goal: `bot RSS under 150 MB with ${CLUSTERS} clusters of ${size} nodes watched`,
      measured: `peak ${fmt(peak)} MB over ${probes} probes of each (emulated nodes, MONITOR_INTERVAL 15s)`,
      baseline: 'goal 150 MB',
      met: peak > 0 && peak < 150,
    });
    return [
      `| RSS of one bot watching ${CLUSTERS} clusters x ${size} nodes (${CLUSTERS * size} nodes, emulated: RESP test servers answer CLUSTER NODES/INFO/CONFIG/INFO like healthy 7.0 nodes, no gossip), MONITOR_INTERVAL 15s, node ${HEAP_LIMIT}, after ${probes} probes of each | peak ${fmt(sampler.peak.get(pid) ?? 0)} MB, at the end ${fmt(sampler.last.get(pid) ?? 0)} MB (${posts} incident posts: all healthy) |`,
    ];
  } finally {
    sampler.stop();
    if (bot) await stopBot(bot, 'SIGKILL');
    await recorder.stop();
    await Promise.all(emulated.map((c) => c.close()));
    await queue.process.kill();
  }
}

/** `BENCH_ONLY=replicas`: several replicas on many clusters, and one bot's memory with many nodes. */
export async function benchReplicas(backend: RedisBackend): Promise<void> {
  const rows = [...(await replicasOnRealClusters(backend)), ...(await oneBotManyNodes(backend))];
  console.log('\nReplicas and many clusters\n');
  console.log('| measured | result |');
  console.log('|---|---|');
  for (const row of rows) console.log(row);
  console.log('');
}
