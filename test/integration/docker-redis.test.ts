import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killMasterAndReplicas } from '../support/break.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { checkData, seedData } from '../support/data.js';
import { docker, REDIS_IMAGE } from '../support/docker-images.js';
import { containerBackend, type RedisBackend } from '../support/redis-backend.js';
import { expectHealthy, planFor, repair, report } from '../support/repair.js';

const IMAGE = process.env.SLOTWATCH_TEST_IMAGE ?? REDIS_IMAGE;
let backend: RedisBackend;
let cluster: TestCluster | undefined;

beforeAll(async () => {
  const began = Date.now();
  backend = await containerBackend(IMAGE);
  process.stdout.write(
    `[slotwatch tests] docker-redis: Redis backend ${backend.name}, image ${IMAGE} (ready in ${Date.now() - began} ms)\n`,
  );
}, 300_000);
afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});
afterAll(async () => {
  await backend?.stopAll();
});

const range = (start: number, end: number) => Array.from({ length: end - start + 1 }, (_, i) => start + i);

describe('real clusters in containers (testcontainers, host network)', () => {
  it('forms a 6-node cluster whose nodes each run in their own container, and reports it healthy', async () => {
    cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1 });

    const pids = await Promise.all(
      cluster.nodes.map(async (n) => /process_id:(\d+)/.exec(await n.redis.info('server'))?.[1]),
    );
    const running = await docker(['ps', '--filter', `ancestor=${IMAGE}`, '--format', '{{.ID}}']);
    const healthy = await report(cluster.seeds);

    expect(pids).toEqual(cluster.nodes.map(() => '1'));
    expect(running.split('\n').length).toBeGreaterThanOrEqual(6);
    expect(healthy.state).toBe('ok');
    expect(healthy.slots.uncovered).toBe(0);
    expect(healthy.findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('reports the gap when a master container and its replica are killed, and repairs it', async () => {
    cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 1 });
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const written = await seedData(cluster, [...range(0, 20), 9000, 16000], 2000);
    const alive = await killMasterAndReplicas(cluster, victim);
    const seeds = alive.map((n) => n.address);

    const broken = await report(seeds);
    const option = await planFor(seeds, 'take-over-slots');
    const result = await repair(option, seeds, { acceptDataLoss: true });

    expect(broken.slots.gaps).toEqual([
      { start: 0, end: 5460, reason: 'owner-failed', owner: victim.id, keys: null },
    ]);
    expect(broken.findings.map((f) => f.code)).toEqual(
      expect.arrayContaining(['CLUSTER_DOWN', 'SLOTS_OWNER_FAILED', 'NODE_FAILED']),
    );
    expect(result).toMatchObject({ status: 'done', error: null });
    await expectHealthy(alive);
    const data = await checkData(cluster, written, new Set(range(0, 5460)));
    expect(data.wrong).toEqual([]);
    expect(data.intact + data.lost).toBe(2000);
  });

  it('names a paused (frozen) container as unresponsive within the probe deadline', async () => {
    cluster = await startCluster(backend, { masters: 3, replicasPerMaster: 0 });
    const frozen = cluster.masters[2];
    if (!frozen) throw new Error('no master');
    await frozen.process.pause();
    try {
      const began = Date.now();
      const view = await report(cluster.masters.slice(0, 2).map((n) => n.address));
      expect(Date.now() - began).toBeLessThan(10_000);
      expect(view.findings.find((f) => f.code === 'NODE_UNREACHABLE')?.nodes).toContain(frozen.id);
    } finally {
      await frozen.process.resume();
    }
  });
});
