import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { diagnose } from '../src/core/diagnose.js';
import { executeRepair } from '../src/core/repair/execute.js';
import { planRepairs } from '../src/core/repair/planner.js';
import { killMasterAndReplicas, waitUntilState } from '../test/support/break.js';
import { startCluster, type TestNode } from '../test/support/cluster.js';
import type { RedisBackend } from '../test/support/redis-backend.js';

const run = promisify(execFile);

/** Slot ranges in the cluster's slot map, as CLUSTER SLOTS lists them. */
async function slotRanges(node: TestNode): Promise<number> {
  return ((await node.redis.call('CLUSTER', 'SLOTS')) as unknown[]).length;
}

async function brokenCluster(
  backend: RedisBackend,
): Promise<{ alive: TestNode[]; stop: () => Promise<void> }> {
  const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
  const [victim] = cluster.masters;
  if (!victim) throw new Error('no master');
  const alive = await killMasterAndReplicas(cluster, victim);
  return { alive, stop: cluster.stop };
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

export async function benchFix(backend: RedisBackend): Promise<void> {
  const ours = await brokenCluster(backend);
  const seeds = ours.alive.map((n) => n.address);
  const began = performance.now();
  const report = await diagnose(seeds);
  if (!report.ok) throw new Error(report.error.message);
  const option = planRepairs(report.value).find((o) => o.kind === 'take-over-slots');
  if (!option) throw new Error('no take-over option');
  const result = await executeRepair(option, seeds, { acceptDataLoss: true });
  const oursMs = performance.now() - began;
  await waitUntilState(ours.alive, 'ok');
  const oursRanges = await slotRanges(ours.alive[0] as TestNode);
  await ours.stop();

  const theirs = await brokenCluster(backend);
  const seed = theirs.alive[0]?.address ?? '';
  const theirsMs = await redisCliFix(seed);
  const state = await waitUntilState(theirs.alive, 'ok').then(
    () => 'cluster_state:ok',
    () => 'still cluster_state:fail 20 s later',
  );
  const theirsRanges = await slotRanges(theirs.alive[0] as TestNode);
  await run('redis-cli', ['--cluster', 'check', seed]).catch(() => null);
  await theirs.stop();

  console.log(
    `${'repair: master+replica lost (5461 slots)'.padEnd(34)} slotwatch ${oursMs.toFixed(0).padStart(6)} ms, ${result.status}, ${oursRanges} slot ranges | redis-cli --cluster fix ${theirsMs.toFixed(0).padStart(6)} ms, ${state}, ${theirsRanges} slot ranges | redis-cli/slotwatch ${(theirsMs / oursMs).toFixed(2)}x`,
  );
}
