import { describe, expect, it } from 'vitest';
import { stepWaves } from '../../src/core/repair/execute.js';
import { memoryJournal } from '../../src/core/repair/journal.js';
import {
  deleteSlotsEverywhere,
  flags,
  killMasterAndReplicas,
  waitUntilFailed,
  waitUntilState,
} from '../support/break.js';
import { cli } from '../support/cli.js';
import { NODE_TIMEOUT_MS, startNode, type TestCluster, type TestNode } from '../support/cluster.js';
import { checkData, seedData } from '../support/data.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { expectHealthy, planFor, repair, report } from '../support/repair.js';
import { waitFor } from '../support/wait.js';

const harness = clusterPerTest();

/** Freezes a node until the others suspect it, then lets it answer again until nobody does. */
async function flicker(cluster: TestCluster, node: TestNode): Promise<void> {
  const suspected = async () => {
    const views = await Promise.all(cluster.nodes.filter((n) => n !== node).map((n) => flags(n, node.id)));
    return views.some((f) => f.includes('fail?') || f.includes('fail'));
  };
  await node.process.pause();
  try {
    await waitFor('the others to suspect it', suspected);
  } finally {
    await node.process.resume();
  }
  await waitFor('the suspicion to clear', async () => !(await suspected()));
}

/** Waits until every node has had a pong (which carries gossip) from every other node since now. */
async function gossipRound(nodes: readonly TestNode[]): Promise<void> {
  const since = Date.now();
  const ids = new Set(nodes.map((n) => n.id));
  await waitFor('a pong from every node to every other', async () => {
    const views = await Promise.all(nodes.map((n) => n.redis.call('CLUSTER', 'NODES')));
    return views.every((view) => {
      const peers = String(view)
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .filter(([id, , flags]) => ids.has(id ?? '') && !flags?.includes('myself'));
      // pong-recv, the sixth field, is the Unix time in ms of the last pong from that peer.
      return peers.length === nodes.length - 1 && peers.every((fields) => Number(fields[5]) > since);
    });
  });
}

describe('repairs of membership, staleness and resumption', () => {
  it('brings a replica reset with CLUSTER RESET SOFT back as a replica of its old master', async () => {
    const cluster = await harness.start();
    const [replica] = cluster.replicas;
    const [master] = cluster.masters;
    if (!replica || !master) throw new Error('no nodes');
    await replica.redis.call('CLUSTER', 'RESET', 'SOFT');

    const option = await planFor(cluster.seeds, 'rejoin-node');
    const result = await repair(option, cluster.seeds);

    expect(option.steps.map((s) => s.action.type)).toEqual(['meet', 'replicate']);
    expect(result.status).toBe('done');
    await waitFor('the replica to sync', async () =>
      (await replica.redis.info('replication')).includes('master_link_status:up'),
    );
    const after = await expectHealthy(cluster.nodes);
    expect(after.nodes.find((n) => n.id === replica.id)).toMatchObject({
      role: 'replica',
      replicaOf: master.id,
    });
    expect(after.findings.map((f) => f.code)).not.toContain('NODE_ISOLATED');
  });

  it('forgets a dead node on every node, and it stays forgotten', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    await victim.process.kill();
    const alive = cluster.nodes.filter((n) => n !== victim);
    await waitUntilFailed(alive, victim);
    await waitUntilState(alive, 'ok');
    const seeds = alive.map((n) => n.address);

    const result = await repair(await planFor(seeds, 'forget-failed'), seeds);

    expect(result.status).toBe('done');
    // Two gossip rounds later (every node has had two pongs from every other since) nobody has learnt it back.
    await gossipRound(alive);
    await gossipRound(alive);
    const views = await Promise.all(alive.map((n) => n.redis.call('CLUSTER', 'NODES')));
    expect(views.every((v) => !String(v).includes(victim.id))).toBe(true);
    expect((await report(seeds)).findings.map((f) => f.code)).not.toContain('NODE_FORGETTABLE');
  });

  it('refuses a stale plan, but not one that only saw a PFAIL flicker', async () => {
    const cluster = await harness.start();
    await deleteSlotsEverywhere(cluster.nodes, 0, 99);
    const option = await planFor(cluster.seeds, 'cover-unassigned');
    const [replica] = cluster.replicas;
    if (!replica) throw new Error('no replica');

    await flicker(cluster, replica);
    await deleteSlotsEverywhere(cluster.nodes, 200, 299);
    const stale = await repair(option, cluster.seeds);
    expect(stale.status).toBe('stale');
    expect(stale.error).toContain('plan again');

    const fresh = await planFor(cluster.seeds, 'cover-unassigned');
    await flicker(cluster, replica);
    const done = await repair(fresh, cluster.seeds);
    expect(done.status).toBe('done');
    await expectHealthy(cluster.nodes);
  });

  it('resumes from every step boundary after an abort and converges', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const written = await seedData(cluster, [6000, 6001, 12000], 10_000);
    const alive = await killMasterAndReplicas(cluster, victim);
    await deleteSlotsEverywhere(alive, 6000, 6099);
    const seeds = alive.map((n) => n.address);
    const option = await planFor(seeds, 'fix-everything');
    const journal = memoryJournal();
    const statuses: string[] = [];

    for (let run = 0; run <= option.steps.length; run++) {
      const controller = new AbortController();
      const result = await repair(option, seeds, {
        journal,
        acceptDataLoss: true,
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'step-finished' || event.type === 'step-skipped') {
            if (event.type === 'step-finished') controller.abort();
          }
        },
      });
      statuses.push(result.status);
      if (result.status === 'done') break;
    }

    expect(statuses.at(-1)).toBe('done');
    // Aborted after every wave's first finished step: once per wave boundary at least.
    expect(statuses.filter((s) => s === 'aborted').length).toBeGreaterThanOrEqual(
      stepWaves(option.steps).length - 1,
    );
    await expectHealthy(alive);
    const data = await checkData(cluster, written, new Set(Array.from({ length: 5461 }, (_, i) => i)));
    expect(data).toMatchObject({ wrong: [], survivedLoss: [] });
    expect(data.intact).toBe(written.length);
  });

  it('runs a fix from the command line only with --yes, and data loss only with --accept-data-loss', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.masters;
    if (!victim) throw new Error('no master');
    const alive = await killMasterAndReplicas(cluster, victim);
    const seeds = alive.map((n) => n.address).join(',');
    const id = `take-over-${victim.id.slice(0, 8)}`;

    const plan = await cli(['plan', seeds]);
    const noYes = await cli(['fix', seeds, '--option', id, '--accept-data-loss']);
    const noFlag = await cli(['fix', seeds, '--option', id, '--yes']);
    const unknown = await cli(['fix', seeds, '--option', 'nope', '--yes']);
    const run = await cli(['fix', seeds, '--option', id, '--yes', '--accept-data-loss']);

    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`${id}  Give the 5461 slots of dead`);
    expect(plan.stdout).toContain('[DATA LOSS]');
    expect(noYes).toMatchObject({ code: 2 });
    expect(noYes.stderr).toContain('add --yes');
    expect(noFlag.code).toBe(2);
    expect(noFlag.stderr).toContain('--accept-data-loss');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`options now: ${id}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/step 1 every node that knows it: CLUSTER FORGET/);
    expect(run.stdout).toContain('after:  16384/16384 slots, state ok');
  });

  it('makes an empty master the replica of a master that has none', async () => {
    const cluster = await harness.start({ masters: 3, replicasPerMaster: 0 });
    const spare = await startNode(harness.backend, {
      'cluster-enabled': 'yes',
      'cluster-config-file': 'nodes.conf',
      'cluster-node-timeout': String(NODE_TIMEOUT_MS),
    });
    const first = cluster.masters[0];
    if (!first) throw new Error('no master');
    await first.redis.call('CLUSTER', 'MEET', '127.0.0.1', spare.port, spare.busPort);
    const seeds = [...cluster.seeds, `127.0.0.1:${spare.port}`];
    await waitFor('the spare to join', async () => (await report(seeds)).nodes.length === 4);

    const option = await planFor(seeds, 'attach-replica');
    const result = await repair(option, seeds);

    expect(result.status).toBe('done');
    const after = await report(seeds);
    const replica = after.nodes.find((n) => n.address === `127.0.0.1:${spare.port}`);
    expect(replica?.role).toBe('replica');
    expect(after.findings.filter((f) => f.code === 'MASTER_NO_REPLICA')).toHaveLength(2);
    await spare.process.kill();
  });
});
