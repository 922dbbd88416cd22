import { spawn } from 'node:child_process';
import { diagnose } from '../src/core/diagnose.js';
import { executeRepair } from '../src/core/repair/execute.js';
import { planRepairs } from '../src/core/repair/planner.js';
import { waitUntilState } from '../test/support/break.js';
import { startCluster, type TestCluster, type TestNode } from '../test/support/cluster.js';
import { checkData, seedData } from '../test/support/data.js';
import type { RedisBackend } from '../test/support/redis-backend.js';
import { redisCliFix } from './fix-bench.js';

const OPEN_SLOTS = 1000;
const KEYS = 40_000;

/** 21-many-slot-migration.tcl: 40,000 keys, then 1000 slots opened MIGRATING/IMPORTING at once. */
async function manyOpenSlots(backend: RedisBackend) {
  const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
  const written = await seedData(
    cluster,
    Array.from({ length: 16384 }, (_, s) => s),
    KEYS,
  );
  const [a, b, c] = cluster.masters as [TestNode, TestNode, TestNode];
  for (let slot = 0; slot < OPEN_SLOTS; slot++) {
    const to = slot % 2 === 0 ? b : c;
    await to.redis.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', a.id);
    await a.redis.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', to.id);
  }
  return { cluster, written };
}

async function outcome(cluster: TestCluster, written: Awaited<ReturnType<typeof seedData>>): Promise<string> {
  const healthy = await waitUntilState(cluster.nodes, 'ok').then(
    () => true,
    () => false,
  );
  const open = (
    await Promise.all(cluster.masters.map(async (m) => String(await m.redis.call('CLUSTER', 'NODES'))))
  )
    .join('\n')
    .split(/\s/)
    .filter((t) => /^\[\d+-[<>]-/.test(t)).length;
  const data = await checkData(cluster, written);
  return `${healthy ? 'ok' : 'NOT ok'}, ${open} open, ${data.intact}/${written.length} keys read back`;
}

/**
 * 04-resharding at scale: `redis-cli --cluster reshard` moves 5000 slots holding 150,000 keys while Slotwatch
 * diagnoses and plans again and again. Every sample must be free of false errors and offer no repair for moving slots.
 */
export async function benchLiveReshard(backend: RedisBackend): Promise<void> {
  const cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1500 });
  try {
    await seedData(
      cluster,
      Array.from({ length: 16384 }, (_, s) => s),
      150_000,
    );
    const [from, to] = cluster.masters as [TestNode, TestNode];
    const child = spawn(
      'redis-cli',
      [
        '--cluster',
        'reshard',
        from.address,
        '--cluster-from',
        from.id,
        '--cluster-to',
        to.id,
        '--cluster-slots',
        '5000',
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    );
    let running = true;
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        running = false;
        resolve(code);
      }),
    );
    let samples = 0;
    let moving = 0;
    const wrong: string[] = [];
    const undiagnosed: string[] = [];
    while (running) {
      const report = await diagnose(cluster.seeds, { deadlineMs: 20_000 });
      samples++;
      if (!report.ok) {
        undiagnosed.push(report.error.message);
        continue;
      }
      if (report.value.movingSlots.length > 0) moving++;
      const errors = report.value.findings.filter((f) => f.severity === 'error').map((f) => f.code);
      const offered = planRepairs(report.value)
        .map((o) => o.kind)
        .filter((k) => k === 'close-open-slots' || k === 'adopt-orphans');
      if (errors.length > 0 || offered.length > 0) wrong.push([...errors, ...offered].join('+'));
    }
    const code = await exited;
    console.log(
      `${'live reshard: 5000 slots, 150k keys'.padEnd(34)} ${samples} samples while it ran (${moving} saw slots moving): ${wrong.length} with a false error or repair${wrong.length > 0 ? ` (${wrong.join(', ')})` : ''}, ${undiagnosed.length} could not diagnose${undiagnosed.length > 0 ? ` (${[...new Set(undiagnosed)].join('; ')})` : ''}; redis-cli exit ${code}`,
    );
  } finally {
    await cluster.stop();
  }
}

/** Closing 1000 open slots holding keys: Slotwatch (diagnose + plan + fix) against redis-cli --cluster fix. */
export async function benchOpenSlots(backend: RedisBackend): Promise<void> {
  const ours = await manyOpenSlots(backend);
  const began = performance.now();
  const report = await diagnose(ours.cluster.seeds, { deadlineMs: 20_000 });
  if (!report.ok) throw new Error(report.error.message);
  const option = planRepairs(report.value).find((o) => o.id === 'close-open-slots');
  if (!option) throw new Error('no close-open-slots option');
  const result = await executeRepair(option, ours.cluster.seeds, { deadlineMs: 20_000 });
  const oursMs = performance.now() - began;
  const oursOutcome = `${result.status}, ${await outcome(ours.cluster, ours.written)}`;
  await ours.cluster.stop();

  const theirs = await manyOpenSlots(backend);
  const theirsMs = await redisCliFix(theirs.cluster.seeds[0] ?? '', []);
  const theirsOutcome = await outcome(theirs.cluster, theirs.written);
  await theirs.cluster.stop();

  console.log(
    `${`repair: ${OPEN_SLOTS} open slots, ${KEYS / 1000}k keys`.padEnd(34)} slotwatch ${oursMs.toFixed(0).padStart(6)} ms (${oursOutcome}) | redis-cli --cluster fix ${theirsMs.toFixed(0).padStart(6)} ms (${theirsOutcome}) | redis-cli/slotwatch ${(theirsMs / oursMs).toFixed(2)}x`,
  );
}
