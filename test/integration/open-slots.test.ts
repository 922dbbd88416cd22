import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { diagnose } from '../../src/core/diagnose.js';
import type { Report } from '../../src/core/report.js';
import { countKeysIn, interruptResharding } from '../support/break.js';
import type { TestCluster, TestNode } from '../support/cluster.js';
import { keyInSlot, writeKeys } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

async function check(seeds: readonly string[]): Promise<Report> {
  const result = await diagnose(seeds, { nodeTimeoutMs: 1000, deadlineMs: 6000 });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function pair(c: TestCluster): [TestNode, TestNode] {
  const [source, target] = c.masters;
  if (!source || !target) throw new Error('no masters');
  return [source, target];
}

describe('open slots and orphaned keys', () => {
  it('reports an interrupted resharding with the keys split between both ends', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    await interruptResharding(source, target, 77, 20, 8);

    const report = await check(cluster.seeds);

    expect(report.openSlots).toEqual([
      {
        slot: 77,
        state: 'importing',
        node: target.id,
        peer: source.id,
        nodeRole: 'master',
        nodeKeys: 8,
        peerKeys: 12,
        live: false,
      },
      {
        slot: 77,
        state: 'migrating',
        node: source.id,
        peer: target.id,
        nodeRole: 'master',
        nodeKeys: 12,
        peerKeys: 8,
        live: false,
      },
    ]);
    const open = report.findings.filter((f) => f.code === 'SLOTS_OPEN');
    expect(open.map((f) => f.severity)).toEqual(['warning']);
    expect(open[0]?.slots).toEqual([[77, 77]]);
    expect(report.findings.map((f) => f.code)).not.toContain('KEYS_ORPHANED');
    expect(report.slots.uncovered).toBe(0);
  });

  it('reports keys left on a node that does not own their slot after SETSLOT STABLE on the target, where redis-cli says OK', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    await interruptResharding(source, target, 77, 20, 8);
    await target.redis.call('CLUSTER', 'SETSLOT', 77, 'STABLE');
    await source.redis.call('CLUSTER', 'SETSLOT', 77, 'STABLE');

    const report = await check(cluster.seeds);
    const baseline = await promisify(execFile)('redis-cli', ['--cluster', 'check', source.address]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

    const orphaned = report.findings.filter((f) => f.code === 'KEYS_ORPHANED');
    expect(orphaned).toHaveLength(1);
    expect(orphaned[0]).toMatchObject({ severity: 'error', slots: [[77, 77]] });
    expect(orphaned[0]?.nodes).toEqual([target.id, source.id]);
    expect(orphaned[0]?.summary).toContain('8 keys');
    expect(report.openSlots).toEqual([]);
    expect(report.keyCounts).toContainEqual({ node: target.id, slot: 77, keys: 8 });
    expect(baseline.out).toContain('[OK] All 16384 slots covered.');
    expect(await source.redis.get(keyInSlot(77, 'k0'))).toBeNull();
  });

  it('calls an open slot whose keys are still moving a live resharding, not a fault', async () => {
    const cluster = await harness.start();
    const [source, target] = pair(cluster);
    const keys = await interruptResharding(source, target, 88, 3000, 0);
    let moving = true;
    const mover = (async () => {
      for (const key of keys) {
        if (!moving) break;
        await source.redis.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', key);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await waitFor('keys to start moving', async () => (await countKeysIn(target.redis, 88)) > 0);

    const report = await check(cluster.seeds);
    moving = false;
    await mover;

    expect(report.openSlots.every((o) => o.live)).toBe(true);
    const open = report.findings.filter((f) => f.code === 'SLOTS_OPEN');
    expect(open.map((f) => f.severity)).toEqual(['info']);
    expect(open[0]?.summary).toContain('in progress');
  });

  it('reports a replica reset with CLUSTER RESET SOFT as isolated while the others still list it', async () => {
    const cluster = await harness.start();
    const [replica] = cluster.replicas;
    if (!replica) throw new Error('no replica');
    await replica.redis.call('CLUSTER', 'RESET', 'SOFT');

    const report = await check(cluster.nodes.map((n) => n.address));

    const isolated = report.findings.filter((f) => f.code === 'NODE_ISOLATED');
    expect(isolated).toHaveLength(1);
    expect(isolated[0]?.nodes).toEqual([replica.id]);
    expect(isolated[0]?.summary).toContain('knows 1 node');
    expect(isolated[0]?.next).toContain('CLUSTER MEET');
    expect(report.slots.uncovered).toBe(0);
  });

  it('reports keys of an unassigned slot held by two nodes on both', async () => {
    const cluster = await harness.start();
    const [a, b] = pair(cluster);
    await writeKeys(a.redis, 5, 3, 'a');
    await b.redis.call('CLUSTER', 'SETSLOT', 5, 'IMPORTING', a.id);
    await a.redis.call('CLUSTER', 'SETSLOT', 5, 'MIGRATING', b.id);
    await a.redis.call('MIGRATE', '127.0.0.1', b.port, '', 0, 5000, 'KEYS', keyInSlot(5, 'a0'));
    await Promise.all(
      cluster.nodes.map((n) => n.redis.call('CLUSTER', 'SETSLOT', 5, 'STABLE').catch(() => null)),
    );
    await Promise.all(cluster.nodes.map((n) => n.redis.call('CLUSTER', 'DELSLOTS', 5).catch(() => null)));

    const report = await check(cluster.seeds);

    expect(report.slots.gaps).toEqual([{ start: 5, end: 5, reason: 'unassigned', owner: null, keys: 3 }]);
    expect(report.keyCounts).toEqual(
      expect.arrayContaining([
        { node: a.id, slot: 5, keys: 2 },
        { node: b.id, slot: 5, keys: 1 },
      ]),
    );
  });
});
