import { execFile } from 'node:child_process';
import type { Server } from 'node:net';
import { promisify } from 'node:util';
import { diagnose } from '../src/core/diagnose.js';
import { startCluster, type TestCluster } from '../test/support/cluster.js';
import { freePort } from '../test/support/free-port.js';
import { writeKeys } from '../test/support/keys.js';
import { localBackend } from '../test/support/redis-backend.js';
import { waitFor } from '../test/support/wait.js';
import { benchAlerts } from './alerts-bench.js';
import { startDelayProxy } from './delay-proxy.js';
import { benchFix } from './fix-bench.js';
import { benchHostile } from './hostile-bench.js';
import { benchLiveReshard, benchOpenSlots } from './open-slots-bench.js';

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const HANG_LIMIT_MS = 20_000;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

async function time(task: () => Promise<unknown>): Promise<number> {
  const began = performance.now();
  await task();
  return performance.now() - began;
}

async function timeRuns(task: () => Promise<unknown>): Promise<number> {
  await task();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push(await time(task));
  return median(times);
}

const slotwatchInProcess = (seed: string) => async () => {
  const result = await diagnose([seed], { nodeTimeoutMs: 2000, deadlineMs: 10_000 });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
};
const slotwatchCli = (seed: string) => () =>
  run(process.execPath, ['bin/slotwatch.js', 'check', seed]).catch((e: { code?: number }) => {
    if (e.code !== 1) throw e;
  });
const redisCli = (seed: string) => () =>
  run('redis-cli', ['--cluster', 'check', seed], { maxBuffer: 1 << 24 });

async function populate(cluster: TestCluster, keysPerMaster: number): Promise<void> {
  for (const [i, master] of cluster.masters.entries()) {
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
  }
}

/** Puts a delaying proxy in front of every node and makes the nodes announce the proxy ports. */
async function addLatency(cluster: TestCluster, delayMs: number): Promise<Server[]> {
  const proxies: Server[] = [];
  const mapping = new Map<number, number>();
  for (const node of cluster.nodes) {
    const port = await freePort();
    proxies.push(await startDelayProxy(port, node.port, delayMs));
    mapping.set(node.port, port);
  }
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
  return proxies;
}

interface Row {
  readonly scenario: string;
  readonly slotwatch: number;
  readonly slotwatchCli: number;
  readonly redisCli: number;
}

async function measure(scenario: string, seed: string): Promise<Row> {
  const row = {
    scenario,
    slotwatch: await timeRuns(slotwatchInProcess(seed)),
    slotwatchCli: await timeRuns(slotwatchCli(seed)),
    redisCli: await timeRuns(redisCli(seed)),
  };
  console.log(
    `${scenario.padEnd(34)} slotwatch ${row.slotwatch.toFixed(1).padStart(7)} ms | slotwatch CLI ${row.slotwatchCli.toFixed(1).padStart(7)} ms | redis-cli --cluster check ${row.redisCli.toFixed(1).padStart(7)} ms | redis-cli/slotwatch ${(row.redisCli / row.slotwatch).toFixed(2)}x`,
  );
  return row;
}

async function hungNode(cluster: TestCluster): Promise<void> {
  const [victim] = cluster.replicas;
  const seed = cluster.masters[0]?.address ?? '';
  if (!victim) return;
  await victim.process.pause();
  try {
    const ours = await time(slotwatchInProcess(seed));
    const theirs = await time(() =>
      run('redis-cli', ['--cluster', 'check', seed], { timeout: HANG_LIMIT_MS }).catch(
        (e: { killed?: boolean }) => e,
      ),
    );
    const theirsText =
      theirs >= HANG_LIMIT_MS - 50
        ? `did not finish, killed after ${HANG_LIMIT_MS / 1000} s`
        : `${theirs.toFixed(0)} ms`;
    console.log(
      `${'6 nodes, one replica SIGSTOPped'.padEnd(34)} slotwatch ${ours.toFixed(1).padStart(7)} ms | redis-cli --cluster check ${theirsText}`,
    );
  } finally {
    await victim.process.resume();
  }
}

async function main(): Promise<void> {
  const backend = localBackend();
  console.log(`Slotwatch benchmark: ${RUNS} runs each, medians; node ${process.version}; local redis-server`);
  try {
    for (const masters of [3, 30]) {
      const cluster = await startCluster(backend, { masters, replicasPerMaster: 1, nodeTimeoutMs: 5000 });
      await populate(cluster, 1000);
      const label = `${masters * 2} nodes`;
      await measure(`${label}, loopback`, cluster.seeds[0] ?? '');
      if (masters === 3) await hungNode(cluster);
      const proxies = await addLatency(cluster, 1);
      await measure(
        `${label}, +1 ms per hop`,
        `127.0.0.1:${(proxies[0]?.address() as { port: number } | undefined)?.port ?? 0}`,
      );
      for (const proxy of proxies) proxy.close();
      await cluster.stop();
    }
    await benchFix(backend);
    await benchOpenSlots(backend);
    await benchLiveReshard(backend);
    await benchAlerts(backend);
    await benchHostile();
  } finally {
    await backend.stopAll();
  }
}

await main();
process.exit(0);
