import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { plural } from '../../src/core/finding.js';
import { keySlot } from '../../src/core/key-slot.js';
import { planRepairs } from '../../src/core/repair/planner.js';
import type { RepairOption } from '../../src/core/repair/types.js';
import type { Report } from '../../src/core/report.js';
import { slotsIn } from '../../src/core/slot-ranges.js';
import { countKeysIn } from '../support/break.js';
import { cli } from '../support/cli.js';
import type { TestCluster, TestNode } from '../support/cluster.js';
import { checkData, seedData, type Written } from '../support/data.js';
import { keyInSlot } from '../support/keys.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { expectHealthy, planFor, repair, report } from '../support/repair.js';
import { waitFor } from '../support/wait.js';

// Every stage of redis/redis tests/cluster/tests/20-half-migrated-slot.tcl and the cases of redis-cli's
// clusterManagerFixOpenSlot, reproduced on real nodes: check must tell the truth, the fix must heal it and
// every key written before must read back through a cluster client.

const harness = clusterPerTest();

interface Pair {
  readonly source: TestNode;
  readonly target: TestNode;
}

function pair(cluster: TestCluster): Pair {
  const [source, target] = cluster.masters;
  if (!source || !target) throw new Error('no masters');
  return { source, target };
}

async function migrate(from: TestNode, to: TestNode, slot: number, count: number): Promise<void> {
  const keys = ((await from.redis.call('CLUSTER', 'GETKEYSINSLOT', slot, count)) as unknown[]).map(String);
  if (keys.length > 0) await from.redis.call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
}

const setslot = (node: TestNode, slot: number, ...args: string[]) =>
  node.redis.call('CLUSTER', 'SETSLOT', slot, ...args);

const codes = (r: Report) => r.findings.map((f) => `${f.code}:${f.severity}`);

/** The slots of an option's settle steps and the owner each goes to. */
const settlements = (option: RepairOption) =>
  option.steps.flatMap((s) =>
    s.action.type === 'settle-slots' ? s.action.slots.map(({ slot, owner }) => ({ slot, owner })) : [],
  );

/** Every slot an option's steps act on. */
const optionSlots = (option: RepairOption) =>
  option.steps.flatMap(({ action: a }) =>
    a.type === 'settle-slots'
      ? a.slots.map((t) => t.slot)
      : a.type === 'adopt-keys'
        ? [a.slot]
        : a.type === 'add-slots' || a.type === 'failover'
          ? [...slotsIn(a.ranges)]
          : [],
  );

/** Breaks slot 609 (and friends) of a 3-master cluster holding data, one stage at a time. */
const STAGES: {
  name: string;
  /** What the check must say about it. */
  expected: { code: string; exit: number };
  owner: 'source' | 'target';
  breakIt: (p: Pair, slot: number) => Promise<void>;
}[] = [
  {
    name: 'half-initialised on the migrating node (MIGRATING only)',
    expected: { code: 'SLOTS_UNROUTABLE:error', exit: 1 },
    owner: 'source',
    breakIt: async ({ source, target }, slot) => {
      await setslot(source, slot, 'MIGRATING', target.id);
    },
  },
  {
    name: 'half-initialised on the importing node (IMPORTING only)',
    expected: { code: 'SLOTS_OPEN:warning', exit: 0 },
    owner: 'source',
    breakIt: async ({ source, target }, slot) => {
      await setslot(target, slot, 'IMPORTING', source.id);
    },
  },
  {
    name: 'initialised on both ends with some keys moved',
    expected: { code: 'SLOTS_OPEN:warning', exit: 0 },
    owner: 'target',
    breakIt: async ({ source, target }, slot) => {
      await setslot(target, slot, 'IMPORTING', source.id);
      await setslot(source, slot, 'MIGRATING', target.id);
      await migrate(source, target, slot, 20);
    },
  },
  {
    name: 'half-finished on the source (SETSLOT NODE on the source only: a MOVED loop)',
    expected: { code: 'SLOTS_UNROUTABLE:error', exit: 1 },
    owner: 'target',
    breakIt: async ({ source, target }, slot) => {
      await setslot(target, slot, 'IMPORTING', source.id);
      await setslot(source, slot, 'MIGRATING', target.id);
      await migrate(source, target, slot, 1000);
      await setslot(source, slot, 'NODE', target.id);
    },
  },
  {
    name: 'half-finished on the target (SETSLOT NODE on the target only)',
    expected: { code: 'SLOTS_OPEN:warning', exit: 0 },
    owner: 'target',
    breakIt: async ({ source, target }, slot) => {
      await setslot(target, slot, 'IMPORTING', source.id);
      await setslot(source, slot, 'MIGRATING', target.id);
      await migrate(source, target, slot, 1000);
      await setslot(target, slot, 'NODE', target.id);
      await waitFor('the source to learn the new owner', async () =>
        String(await source.redis.call('CLUSTER', 'SLOTS')).includes(String(target.port)),
      );
    },
  },
];

describe('open slots at every stage of a migration (20-half-migrated-slot.tcl)', () => {
  it.each(STAGES)('tells the truth about a slot $name and heals it without losing a key', async (stage) => {
    const cluster = await harness.start();
    const p = pair(cluster);
    const slot = 609;
    const written = await seedData(cluster, [slot, 610, 9000], 600);
    await stage.breakIt(p, slot);

    const check = await cli(['check', cluster.seeds.join(','), '--json']);
    const before = JSON.parse(check.stdout) as Report;
    const option = await planFor(cluster.seeds, 'close-open-slots');
    const result = await repair(option, cluster.seeds);

    expect(codes(before)).toContain(stage.expected.code);
    expect(check.code).toBe(stage.expected.exit);
    expect(before.state).toBe(stage.expected.exit === 1 ? 'fail' : 'ok');
    expect(option.risk).toBe('safe');
    expect(settlements(option)).toEqual([{ slot, owner: p[stage.owner].id }]);
    expect(result.status).toBe('done');
    await expectHealthy(cluster.nodes);
    expect(await checkData(cluster, written)).toMatchObject({ intact: written.length, wrong: [] });
  });
});

describe('open slots redis-cli knows how to fix (clusterManagerFixOpenSlot)', () => {
  it('moves the keys of a slot imported by two nodes to its owner and closes both imports', async () => {
    const cluster = await harness.start();
    const [owner, first, second] = cluster.masters as [TestNode, TestNode, TestNode];
    const slot = 300;
    const written = await seedData(cluster, [slot, 301], 600);
    for (const importer of [first, second]) {
      await setslot(importer, slot, 'IMPORTING', owner.id);
      await setslot(owner, slot, 'MIGRATING', importer.id);
      await migrate(owner, importer, slot, 50);
    }
    await setslot(owner, slot, 'STABLE');

    const before = await report(cluster.seeds);
    const option = await planFor(cluster.seeds, 'close-open-slots');
    const result = await repair(option, cluster.seeds);

    expect(codes(before)).toContain('SLOTS_UNROUTABLE:error');
    expect(before.findings.find((f) => f.code === 'SLOTS_UNROUTABLE')?.summary).toContain(
      '100 keys cannot be read',
    );
    expect(
      before.openSlots
        .filter((o) => o.slot === slot)
        .map((o) => o.node)
        .sort(),
    ).toEqual([first.id, second.id].sort());
    expect(settlements(option)).toEqual([{ slot, owner: owner.id }]);
    expect(result.status).toBe('done');
    await expectHealthy(cluster.nodes);
    expect(await countKeysIn(first.redis, slot)).toBe(0);
    expect(await countKeysIn(second.redis, slot)).toBe(0);
    expect(await checkData(cluster, written)).toMatchObject({ intact: written.length, wrong: [] });
  });

  it('settles five slots in five states independently and names the one a person must decide', async () => {
    const cluster = await harness.start();
    const p = pair(cluster);
    const { source, target } = p;
    const slots = [100, 101, 102, 103, 104];
    const written = await seedData(cluster, [...slots, 105], 600);
    await STAGES[0]?.breakIt(p, 100);
    await STAGES[1]?.breakIt(p, 101);
    await STAGES[2]?.breakIt(p, 102);
    await STAGES[3]?.breakIt(p, 103);
    // Slot 104: migration open on both ends, and the target already holds a different value of one key.
    await setslot(target, 104, 'IMPORTING', source.id);
    await setslot(source, 104, 'MIGRATING', target.id);
    const clash = written.find((w) => keySlot(w.key) === 104 && w.kind === 'string')?.key as string;
    await target.redis.call('ASKING');
    await target.redis.set(clash, 'written on the target by someone else');

    const check = await cli(['check', cluster.seeds.join(',')]);
    const option = await planFor(cluster.seeds, 'close-open-slots');
    const result = await repair(option, cluster.seeds);
    const after = await report(cluster.seeds);

    expect(check.code).toBe(1);
    expect(settlements(option).map((s) => s.slot)).toEqual(slots);
    expect(result.status).toBe('failed');
    const inSlot = (slot: number) => written.filter((w) => keySlot(w.key) === slot).length;
    expect(result.slots.map(({ reason, ...r }) => r)).toEqual([
      { slot: 100, owner: source.id, result: 'settled', moved: 0 },
      { slot: 101, owner: source.id, result: 'settled', moved: 0 },
      { slot: 102, owner: target.id, result: 'settled', moved: inSlot(102) - 20 },
      { slot: 103, owner: target.id, result: 'settled', moved: 0 },
      { slot: 104, owner: target.id, result: 'failed', moved: 0 },
    ]);
    expect(result.slots.slice(0, 4).map((r) => r.reason)).toEqual([null, null, null, null]);
    expect(result.slots[4]?.reason).toBe(
      `1 key exist on both ${source.id.slice(0, 8)} and ${target.id.slice(0, 8)} with different values; both copies are left in place for a person to decide: ${clash}`,
    );
    expect(result.error).toBe(
      `1 slot of 5 not settled: slot 104: ${result.slots[4]?.reason} (settled 4 slots: 100-103 (${plural(inSlot(102) - 20, 'key')} moved); failed 1 slot: 104)`,
    );
    expect(after.openSlots.map((o) => o.slot)).toEqual([104, 104]);
    // Both copies of the clashing key are left for a person; every other key reads back.
    expect(await source.redis.get(clash)).toBe(written.find((w) => w.key === clash)?.value);
    await target.redis.call('ASKING');
    expect(await target.redis.get(clash)).toBe('written on the target by someone else');
    const others = written.filter((w) => w.key !== clash);
    await target.redis.call('ASKING');
    await target.redis.del(clash);
    // The still-open slot is read on its own: ioredis's auto-pipelining mixes it badly with other slots.
    const open = others.filter((w) => keySlot(w.key) === 104);
    const settledKeys = others.filter((w) => keySlot(w.key) !== 104);
    expect(await checkData(cluster, settledKeys)).toMatchObject({ intact: settledKeys.length, wrong: [] });
    expect(await checkData(cluster, open)).toMatchObject({ intact: open.length, wrong: [] });
  });
});

describe('many open slots at once (21-many-slot-migration.tcl)', () => {
  it('finishes 1000 migrations opened at once and every one of 40,000 keys reads back', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const written = await seedData(
      cluster,
      Array.from({ length: 16384 }, (_, s) => s),
      40_000,
    );
    const [a, b, c] = cluster.masters as [TestNode, TestNode, TestNode];
    // Slots 0-999 belong to the first master; open each toward the next master, as the Tcl test does.
    for (let slot = 0; slot < 1000; slot++) {
      const to = slot % 2 === 0 ? b : c;
      await Promise.all([setslot(a, slot, 'MIGRATING', to.id), setslot(to, slot, 'IMPORTING', a.id)]);
    }

    const option = await planFor(cluster.seeds, 'close-open-slots');
    const result = await repair(option, cluster.seeds);

    expect(settlements(option)).toHaveLength(1000);
    expect(result.status).toBe('done');
    expect(result.slots.filter((r) => r.result === 'settled').map((r) => r.slot)).toEqual(
      Array.from({ length: 1000 }, (_, s) => s),
    );
    await expectHealthy(cluster.nodes);
    const data = await checkData(cluster, written as Written[]);
    expect(data).toMatchObject({ intact: 40_000, wrong: [] });
    // Seeding and reading 40,000 keys take most of it: ~55 s on a loaded two-core machine.
  }, 120_000);
});

describe('a half-finished migration is found from any seed', () => {
  it('reports the MOVED loop from the node that gave the slot away, whichever node is asked', async () => {
    const cluster = await harness.start();
    const p = pair(cluster);
    await seedData(cluster, [609], 30);
    await STAGES[3]?.breakIt(p, 609);

    const fromSource = await report([p.source.address]);
    const fromThird = await report([(cluster.masters[2] as TestNode).address]);

    for (const r of [fromSource, fromThird]) {
      const unroutable = r.findings.find((f) => f.code === 'SLOTS_UNROUTABLE');
      expect(unroutable?.slots).toEqual([[609, 609]]);
      expect(unroutable?.summary).toContain('30 keys cannot be read');
      expect(unroutable?.details.join('\n')).toContain('loop');
      expect(unroutable?.nodes).toEqual(expect.arrayContaining([p.source.id, p.target.id]));
    }
  });
});

describe('a live resharding (04-resharding.tcl)', () => {
  // Sized for a loaded two-core machine: redis-cli moves a slot every few ms, a sample takes ~0.5 s.
  const SLOTS = 2000;
  const KEYS = 20_000;
  const ENOUGH_MOVING = 5;
  const MAX_SAMPLES = 30;

  it('calls the moving slots SLOTS_OPEN info in every sample, never an error, and offers no repair for them', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const { source, target } = pair(cluster);
    const written = await seedData(
      cluster,
      Array.from({ length: SLOTS }, (_, s) => s),
      KEYS,
    );
    const reshard = new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('redis-cli', [
        '--cluster',
        'reshard',
        source.address,
        '--cluster-from',
        source.id,
        '--cluster-to',
        target.id,
        '--cluster-slots',
        String(SLOTS),
        '--cluster-yes',
      ]);
      let out = '';
      const keep = (chunk: Buffer) => {
        out = (out + chunk.toString()).slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('exit', (code) => resolve({ code, out }));
    });
    let finished = false;
    const ended = reshard.then((outcome) => {
      finished = true;
      return outcome;
    });
    await waitFor(
      'the resharding to start moving slots',
      async () => (await countKeysIn(target.redis, 0)) > 0,
    );

    const samples: { moving: number[]; report: Report; options: RepairOption[] }[] = [];
    const sawMoving = () => samples.filter((s) => s.moving.length > 0).length;
    while (!finished && sawMoving() < ENOUGH_MOVING && samples.length < MAX_SAMPLES) {
      const sample = await report(cluster.seeds);
      samples.push({
        moving: [...slotsIn(sample.movingSlots)],
        report: sample,
        options: planRepairs(sample),
      });
    }
    const done = await ended;

    expect(done.code, done.out).toBe(0);
    expect(sawMoving()).toBeGreaterThanOrEqual(1);
    const wrong = samples.flatMap(({ moving, report: r, options }, i) => {
      const touched = new Set(moving);
      const about = (slots: readonly (readonly [number, number])[] | undefined) =>
        [...slotsIn(slots ?? [])].some((slot) => touched.has(slot));
      const info = r.findings.filter((f) => f.code === 'SLOTS_OPEN' && f.severity === 'info');
      return [
        ...(moving.length > 0 && !info.some((f) => about(f.slots))
          ? [`#${i}: moving slots not reported as info`]
          : []),
        ...r.findings
          .filter((f) => f.severity === 'error' || f.code === 'KEYS_ORPHANED')
          .map(
            (f) =>
              `#${i}: ${f.code}:${f.severity}${about(f.slots) ? ' about moving slots' : ''}: ${f.summary}`,
          ),
        ...options
          .filter(
            (o) =>
              o.kind === 'close-open-slots' ||
              o.kind === 'adopt-orphans' ||
              optionSlots(o).some((slot) => touched.has(slot)),
          )
          .map((o) => `#${i}: offers ${o.kind}`),
      ];
    });
    expect(wrong).toEqual([]);
    await expectHealthy(cluster.nodes);
    expect(await checkData(cluster, written)).toMatchObject({ intact: written.length, wrong: [] });
  }, 240_000);
});

describe('key names are bytes', () => {
  it('moves keys whose names are not valid UTF-8 byte for byte', async () => {
    const cluster = await harness.start({ replicasPerMaster: 0 });
    const { source, target } = pair(cluster);
    const slot = 700;
    const names = [0, 1, 2].map((i) =>
      Buffer.concat([Buffer.from(keyInSlot(slot, 'bin')), Buffer.from([0xff, 0xfe, 0x00, 0x80 + i])]),
    );
    for (const name of names) await source.redis.set(name, Buffer.from([0xc3, 0x28, 0xa0]));
    await setslot(target, slot, 'IMPORTING', source.id);
    await setslot(source, slot, 'MIGRATING', target.id);
    await source.redis.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', names[0] as Buffer);

    const result = await repair(await planFor(cluster.seeds, 'close-open-slots'), cluster.seeds);

    expect(result.status).toBe('done');
    await expectHealthy(cluster.nodes);
    for (const name of names)
      expect(await target.redis.getBuffer(name)).toEqual(Buffer.from([0xc3, 0x28, 0xa0]));
    expect(await countKeysIn(source.redis, slot)).toBe(0);
  });
});
