import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { diagnose } from '../src/core/diagnose.js';
import { executeRepair } from '../src/core/repair/execute.js';
import { planRepairs } from '../src/core/repair/planner.js';
import { ALICE, BOB, botEnv, click, requestRepair, spawnBot, stopBot } from '../test/support/bots.js';
import { clusterState, killMasterAndReplicas } from '../test/support/break.js';
import { startCluster, startNode, type TestCluster, type TestNode } from '../test/support/cluster.js';
import { freePort } from '../test/support/free-port.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { SlackRecorder } from '../test/support/slack-recorder.js';
import { ratio, recordGoal } from './goals.js';
import { median } from './timing.js';

const run = promisify(execFile);
const TAKE_OVER_RUNS = Number(process.env.BENCH_REPAIR_RUNS ?? 3);

/** Slot ranges in the cluster's slot map, as CLUSTER SLOTS lists them. */
async function slotRanges(node: TestNode): Promise<number> {
  return ((await node.redis.call('CLUSTER', 'SLOTS')) as unknown[]).length;
}

interface Broken {
  readonly cluster: TestCluster;
  readonly alive: TestNode[];
  readonly dead: TestNode[];
  readonly lost: readonly [number, number];
  readonly stop: () => Promise<void>;
}

async function brokenCluster(backend: RedisBackend): Promise<Broken> {
  const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
  const [victim] = cluster.masters;
  if (!victim) throw new Error('no master');
  const dead = [victim, ...cluster.replicaOf(victim)];
  const slots = String(await victim.redis.call('CLUSTER', 'NODES'))
    .split('\n')
    .find((line) => line.includes('myself'))
    ?.split(' ')[8]
    ?.split('-')
    .map(Number);
  const alive = await killMasterAndReplicas(cluster, victim);
  return { cluster, alive, dead, lost: [slots?.[0] ?? 0, slots?.[1] ?? 0], stop: cluster.stop };
}

/** Polls every live node's CLUSTER INFO every 5 ms; the time at which all of them first said ok. */
async function untilAllOk(nodes: readonly TestNode[], began: number, limitMs = 20_000): Promise<number> {
  for (;;) {
    const states = await Promise.all(nodes.map(clusterState));
    if (states.every((s) => s === 'ok')) return performance.now() - began;
    if (performance.now() - began > limitMs) return Number.NaN;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The floor an expert reaches by hand with redis-cli: FORGET both dead nodes on every live node, ADDSLOTSRANGE
 * half of the lost range on each live master, all at once, then wait for gossip. No diagnosis, no checks.
 */
async function byHand(cluster: Broken): Promise<number> {
  const began = performance.now();
  await Promise.all(
    cluster.alive.flatMap((n) => cluster.dead.map((d) => n.redis.call('CLUSTER', 'FORGET', d.id))),
  );
  const masters = [];
  for (const n of cluster.alive) if (String(await n.redis.call('ROLE')).startsWith('master')) masters.push(n);
  const [start, end] = cluster.lost;
  const half = Math.floor((start + end) / 2);
  await Promise.all([
    masters[0]?.redis.call('CLUSTER', 'ADDSLOTSRANGE', start, half),
    masters[1]?.redis.call('CLUSTER', 'ADDSLOTSRANGE', half + 1, end),
  ]);
  return untilAllOk(cluster.alive, began);
}

/** Slotwatch in process: diagnose, plan, execute the take-over (what the approved job runs), until all ok. */
async function slotwatch(cluster: Broken): Promise<{ ms: number; status: string; ranges: number }> {
  const seeds = cluster.alive.map((n) => n.address);
  const began = performance.now();
  const report = await diagnose(seeds);
  if (!report.ok) throw new Error(report.error.message);
  const option = planRepairs(report.value).find((o) => o.kind === 'take-over-slots');
  if (!option) throw new Error('no take-over option');
  const result = await executeRepair(option, seeds, { acceptDataLoss: true });
  const ms = await untilAllOk(cluster.alive, began);
  return { ms, status: result.status, ranges: await slotRanges(cluster.alive[0] as TestNode) };
}

/** `slotwatch fix --yes` as a process: planning and the repair, start to every live node ok. */
async function slotwatchCli(cluster: Broken): Promise<number> {
  const seed = cluster.alive[0]?.address ?? '';
  const [dead] = cluster.dead;
  const began = performance.now();
  await run(process.execPath, [
    'bin/slotwatch.js',
    'fix',
    seed,
    '--option',
    `take-over-${dead?.id.slice(0, 8)}`,
    '--yes',
    '--accept-data-loss',
  ]);
  return untilAllOk(cluster.alive, began);
}

/** redis-cli asks several questions and ignores --cluster-yes for coverage: feed it "yes" forever. */
export function redisCliFix(
  seed: string,
  flags: readonly string[] = ['--cluster-fix-with-unreachable-masters'],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn('redis-cli', ['--cluster', 'fix', seed, ...flags, '--cluster-yes'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    const yes = setInterval(() => child.stdin.write('yes\n'), 5);
    child.stdin.on('error', () => {});
    child.on('error', reject);
    child.on('exit', () => {
      clearInterval(yes);
      resolve(performance.now() - began);
    });
  });
}

async function redisCli(cluster: Broken): Promise<number> {
  const seed = cluster.alive[0]?.address ?? '';
  const began = performance.now();
  await redisCliFix(seed);
  const ms = await untilAllOk(cluster.alive, began);
  await run('redis-cli', ['--cluster', 'check', seed]).catch(() => null);
  return ms;
}

/**
 * The bot as deployed (its own process, a queue Redis, signed Slack clicks): from the second approval to every
 * live node ok. The job, the claim, the fresh probe and the stale-plan check are all inside.
 */
async function slotwatchBot(cluster: Broken, backend: RedisBackend): Promise<number> {
  const recorder = new SlackRecorder();
  await recorder.start();
  const queueNode = await startNode(backend, {});
  const queue = new Redis({ port: queueNode.port, host: '127.0.0.1' });
  const prefix = `benchfix${Date.now()}`;
  const env = botEnv(cluster.cluster, recorder, queueNode.port, await freePort(), prefix, {
    CLUSTERS: `prod=${cluster.alive.map((n) => n.address).join(',')}`,
    MONITOR_INTERVAL: '1h',
  });
  const bot = await spawnBot(env);
  try {
    const id = await requestRepair(recorder, bot.port, queue, prefix, 'take-over');
    await click(recorder, bot.port, 'approve_repair', id, ALICE);
    const began = performance.now();
    await click(recorder, bot.port, 'approve_repair', id, BOB);
    return await untilAllOk(cluster.alive, began);
  } finally {
    await stopBot(bot);
    queue.disconnect();
    await queueNode.process.kill();
    await recorder.stop();
  }
}

async function onFresh<T>(backend: RedisBackend, task: (cluster: Broken) => Promise<T>): Promise<T> {
  const cluster = await brokenCluster(backend);
  try {
    return await task(cluster);
  } finally {
    await cluster.stop();
  }
}

const ms = (value: number) => (Number.isNaN(value) ? 'never ok' : `${value.toFixed(0)} ms`);

/**
 * The 5461-slot take-over (a master and its replica lost), each way on a fresh cluster, in turns, medians:
 * time from the start to every live node answering cluster_state:ok.
 */
export async function benchFix(backend: RedisBackend): Promise<void> {
  const floor: number[] = [];
  const ours: number[] = [];
  const cli: number[] = [];
  const theirs: number[] = [];
  const viaBot: number[] = [];
  let last = { status: '', ranges: 0 };
  for (let i = 0; i < TAKE_OVER_RUNS; i++) {
    floor.push(await onFresh(backend, byHand));
    const result = await onFresh(backend, slotwatch);
    ours.push(result.ms);
    last = result;
    cli.push(await onFresh(backend, slotwatchCli));
    theirs.push(await onFresh(backend, redisCli));
    viaBot.push(await onFresh(backend, (cluster) => slotwatchBot(cluster, backend)));
  }
  const [f, o, c, t, b] = [floor, ours, cli, theirs, viaBot].map(median) as [
    number,
    number,
    number,
    number,
    number,
  ];
  for (const [door, value] of [
    ['bot: second approval', b],
    ['`slotwatch fix --yes`', c],
  ] as const) {
    recordGoal({
      goal: `take-over of 5461 slots, ${door} to every live node ok within 1.5x of the by-hand floor`,
      measured: `${ms(value)} (${ratio(value / f)} the floor)`,
      baseline: `by hand ${ms(f)}; \`redis-cli --cluster fix\` ${ms(t)} (${ratio(t / f)})`,
      met: value / f <= 1.5,
    });
  }
  console.log(
    `${'repair: master+replica lost (5461 slots), start to every live node ok, median of'} ${TAKE_OVER_RUNS}\n` +
      `  by hand (FORGET + ADDSLOTSRANGE at once) ${ms(f)} | slotwatch execute ${ms(o)} (${(o / f).toFixed(2)}x the floor, ${last.status}, ${last.ranges} slot ranges) | bot: second approval → ok ${ms(b)} (${(b / f).toFixed(2)}x) | slotwatch fix --yes (CLI) ${ms(c)} (${(c / f).toFixed(2)}x) | redis-cli --cluster fix ${ms(t)} (${(t / f).toFixed(2)}x)`,
  );
}
