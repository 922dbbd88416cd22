import { describe, expect, it } from 'vitest';
import { waitUntilFailed } from '../support/break.js';
import type { TestNode } from '../support/cluster.js';
import { clusterPerTest } from '../support/lifecycle.js';
import { planFor, repair, report } from '../support/repair.js';

const harness = clusterPerTest();

const label = (n: TestNode) => `${n.address} (${n.id.slice(0, 8)})`;
const byPort = (a: TestNode, b: TestNode) => a.port - b.port;
const lists = async (node: TestNode, id: string) =>
  String(await node.redis.call('CLUSTER', 'NODES')).includes(id);

describe('membership the nodes disagree on', () => {
  it('names the nodes that still list a dead node others forgot, and forgets it on exactly those', async () => {
    const cluster = await harness.start();
    const [victim] = cluster.replicas;
    if (!victim) throw new Error('no replica');
    await victim.process.kill();
    const alive = cluster.nodes.filter((n) => n !== victim);
    await waitUntilFailed(alive, victim);
    // Inside the 60 s ban gossip cannot teach these two the dead node again.
    const forgot = [...alive.slice(0, 2)].sort(byPort);
    const still = alive.slice(2).sort(byPort);
    await Promise.all(forgot.map((n) => n.redis.call('CLUSTER', 'FORGET', victim.id)));
    const seeds = alive.map((n) => n.address);

    const before = await report(seeds);
    const option = await planFor(seeds, 'forget-failed');
    const result = await repair(option, seeds);
    const after = await report(seeds);

    const forgettable = before.findings.find((f) => f.code === 'NODE_FORGETTABLE');
    expect(forgettable?.nodes).toEqual([victim.id]);
    expect(forgettable?.summary).toContain('still listed by 3 of 5 nodes:');
    for (const n of still) expect(forgettable?.summary).toContain(n.address);
    for (const n of forgot) expect(forgettable?.summary).not.toContain(n.address);
    expect(before.nodes.find((n) => n.id === victim.id)?.listedBy).toEqual(still.map((n) => n.id));
    const disagree = before.findings.find((f) => f.code === 'VIEWS_DISAGREE');
    expect(disagree?.details).toEqual([
      `${still.map(label).join(', ')} still list ${label(victim)}; ${forgot.map(label).join(', ')} have forgotten it`,
    ]);
    expect(option.steps.map((s) => s.action)).toEqual([{ type: 'forget', target: victim.id }]);
    expect(option.steps[0]?.why).toContain(`still listed by ${still.map(label).join(', ')}`);
    expect(result.status).toBe('done');
    expect(await Promise.all(alive.map((n) => lists(n, victim.id)))).toEqual(alive.map(() => false));
    expect(after.findings.map((f) => f.code)).not.toContain('NODE_FORGETTABLE');
    expect(after.findings.map((f) => f.code)).not.toContain('VIEWS_DISAGREE');
  });
});
