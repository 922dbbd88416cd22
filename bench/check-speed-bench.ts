import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { startCluster, type TestCluster } from '../test/support/cluster.js';
import { freePort } from '../test/support/free-port.js';
import { writeKeys } from '../test/support/keys.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { waitFor } from '../test/support/wait.js';
import { type DelayProxies, startDelayProxies } from './delay-proxies.js';
import { loadNow } from './machine.js';
import { time, timeInTurns } from './timing.js';

const run = promisify(execFile);
const HANG_LIMIT_MS = 20_000;
const NODE_TIMEOUT_MS = 2000;
const SIZES = (process.env.BENCH_SIZES ?? '6,60,200').split(',').map(Number);
/** Sizes that also get a delaying proxy in front of every node. */
const LATENCY_SIZES = new Set([6, 60]);

type Diagnose = typeof import('../src/core/diagnose.js').diagnose;

/** A build of Slotwatch to measure: this checkout, or another one's (BENCH_COMPARE=<its root>). */
interface Build {
  readonly root: string;
  readonly diagnose: Diagnose;
}

/** The compiled build (what the CLI and the bot run), not the sources through a TypeScript loader. */
async function loadBuild(root: string): Promise<Build> {
  const module = (await import(resolve(root, 'dist/core/diagnose.js'))) as { diagnose: Diagnose };
  return { root, diagnose: module.diagnose };
}

const slotwatchInProcess = (build: Build, seed: string) => async () => {
  const result = await build.diagnose([seed], { nodeTimeoutMs: NODE_TIMEOUT_MS, deadlineMs: 10_000 });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};
const slotwatchCli = (build: Build, seed: string) => () =>
  run(process.execPath, [resolve(build.root, 'bin/slotwatch.js'), 'check', seed]).catch(
    (e: { code?: number }) => {
      if (e.code !== 1) throw e;
    },
  );
const redisCli = (seed: string) => () =>
  run('redis-cli', ['--cluster', 'check', seed], { maxBuffer: 1 << 24 });

async function populate(cluster: TestCluster, keysPerMaster: number): Promise<void> {
  await Promise.all(
    cluster.masters.map(async (master, i) => {
      const slots = String(await master.redis.call('CLUSTER', 'NODES'))
        .split('\n')
        .find((l) => l.includes('myself'))
        ?.split(' ')
        .slice(8)[0]
        ?.split('-')
        .map(Number) ?? [0, 0];
      const first = slots[0] ?? 0;
      for (let k = 0; k < keysPerMaster; k += 100)
        await writeKeys(master.redis, first + ((i * 7 + k) % 50), 100, `b${k}-`);
    }),
  );
}

/** Puts a delaying proxy in front of every node and makes the nodes announce the proxy ports. */
async function addLatency(
  cluster: TestCluster,
  delayMs: number,
): Promise<{ proxies: DelayProxies; seed: string }> {
  const mapping = new Map<number, number>();
  for (const node of cluster.nodes) mapping.set(node.port, await freePort());
  const proxies = await startDelayProxies(
    [...mapping].map(([target, listen]) => [listen, target] as const),
    delayMs,
  );
  for (const node of cluster.nodes) {
    await node.redis.call('CONFIG', 'SET', 'cluster-announce-bus-port', String(node.busPort));
    await node.redis.call('CONFIG', 'SET', 'cluster-announce-port', String(mapping.get(node.port)));
  }
  await waitFor(
    'every node to announce its proxy port',
    async () => {
      const views = await Promise.all(cluster.nodes.map((n) => n.redis.call('CLUSTER', 'NODES')));
      return views.every((v) => [...mapping.values()].every((p) => String(v).includes(`127.0.0.1:${p}@`)));
    },
    { timeoutMs: 60_000 },
  );
  return { proxies, seed: `127.0.0.1:${mapping.get(cluster.nodes[0]?.port ?? 0) ?? 0}` };
}

export interface SpeedRow {
  readonly scenario: string;
  readonly nodes: number;
  readonly delayMs: number;
  readonly diagnose: number;
  readonly cli: number;
  readonly redisCli: number;
  /** The same with the BENCH_COMPARE build, when given. */
  readonly before: { readonly diagnose: number; readonly cli: number } | null;
  readonly load: string;
}

interface Builds {
  readonly current: Build;
  readonly before: Build | null;
}

async function measure(
  builds: Builds,
  scenario: string,
  nodes: number,
  delayMs: number,
  seed: string,
): Promise<SpeedRow> {
  const { current, before } = builds;
  const tasks = [slotwatchInProcess(current, seed), slotwatchCli(current, seed), redisCli(seed)];
  if (before) tasks.push(slotwatchInProcess(before, seed), slotwatchCli(before, seed));
  const [ours, cli, theirs, oursBefore, cliBefore] = await timeInTurns(tasks);
  const row = {
    scenario,
    nodes,
    delayMs,
    diagnose: ours ?? Number.NaN,
    cli: cli ?? Number.NaN,
    redisCli: theirs ?? Number.NaN,
    before: before ? { diagnose: oursBefore ?? Number.NaN, cli: cliBefore ?? Number.NaN } : null,
    load: loadNow(),
  };
  const was = row.before
    ? ` | before: diagnose ${row.before.diagnose.toFixed(1)} ms, CLI ${row.before.cli.toFixed(1)} ms`
    : '';
  console.log(
    `  ${scenario.padEnd(26)} diagnose ${row.diagnose.toFixed(1).padStart(7)} ms | CLI ${row.cli.toFixed(1).padStart(7)} ms | redis-cli ${row.redisCli.toFixed(1).padStart(7)} ms${was} | load ${row.load}`,
  );
  return row;
}

export interface HungRow {
  readonly diagnose: number;
  readonly redisCli: string;
}

async function hungNode(build: Build, cluster: TestCluster): Promise<HungRow | null> {
  const [victim] = cluster.replicas;
  const seed = cluster.masters[0]?.address ?? '';
  if (!victim) return null;
  await victim.process.pause();
  try {
    const ours = await time(slotwatchInProcess(build, seed));
    const theirs = await time(() =>
      run('redis-cli', ['--cluster', 'check', seed], { timeout: HANG_LIMIT_MS }).catch(
        (e: { killed?: boolean }) => e,
      ),
    );
    const theirsText =
      theirs >= HANG_LIMIT_MS - 50
        ? `did not finish, killed after ${HANG_LIMIT_MS / 1000} s`
        : `${theirs.toFixed(0)} ms`;
    console.log(`  one replica SIGSTOPped: diagnose ${ours.toFixed(0)} ms | redis-cli ${theirsText}`);
    return { diagnose: ours, redisCli: theirsText };
  } finally {
    await victim.process.resume();
  }
}

export interface StartupRow {
  readonly help: number;
  readonly bareNode: number;
  readonly helpBefore: number | null;
}

/** `slotwatch --help` against a bare `node -e 0`, as whole processes. */
export async function benchStartup(builds: Builds): Promise<StartupRow> {
  const help = (build: Build) => () =>
    run(process.execPath, [resolve(build.root, 'bin/slotwatch.js'), '--help']);
  const tasks = [help(builds.current), () => run(process.execPath, ['-e', '0'])];
  if (builds.before) tasks.push(help(builds.before));
  const [current, bareNode, before] = await timeInTurns(tasks);
  const row = {
    help: current ?? Number.NaN,
    bareNode: bareNode ?? Number.NaN,
    helpBefore: before ?? null,
  };
  const was = row.helpBefore === null ? '' : ` | before: ${row.helpBefore.toFixed(1)} ms`;
  console.log(`  slotwatch --help ${row.help.toFixed(1)} ms | node -e 0 ${row.bareNode.toFixed(1)} ms${was}`);
  return row;
}

export interface CheckSpeed {
  readonly rows: readonly SpeedRow[];
  readonly hung: HungRow | null;
  readonly startup: StartupRow;
}

/** Diagnosis against redis-cli --cluster check on real clusters of each size, loopback and with latency. */
export async function benchCheckSpeed(backend: RedisBackend): Promise<CheckSpeed> {
  const compare = process.env.BENCH_COMPARE;
  const builds: Builds = {
    current: await loadBuild('.'),
    before: compare ? await loadBuild(compare) : null,
  };
  const rows: SpeedRow[] = [];
  let hung: HungRow | null = null;
  for (const size of SIZES) {
    const masters = Math.floor(size / 2);
    const began = performance.now();
    const cluster = await startCluster(backend, {
      masters,
      replicasPerMaster: 1,
      // Gossip of a 200-node cluster at a short node timeout alone loads a 2-core machine.
      nodeTimeoutMs: 10_000,
      formTimeoutMs: 180_000,
    });
    try {
      await populate(cluster, 1000);
      console.log(
        `  ${size} nodes formed and filled in ${((performance.now() - began) / 1000).toFixed(0)} s`,
      );
      rows.push(await measure(builds, `${size} nodes, loopback`, size, 0, cluster.seeds[0] ?? ''));
      if (size === 6) hung = await hungNode(builds.current, cluster);
      if (LATENCY_SIZES.has(size)) {
        const { proxies, seed } = await addLatency(cluster, 1);
        try {
          rows.push(await measure(builds, `${size} nodes, +1 ms per hop`, size, 1, seed));
        } finally {
          await proxies.stop();
        }
      }
    } finally {
      await cluster.stop();
    }
  }
  return { rows, hung, startup: await benchStartup(builds) };
}
