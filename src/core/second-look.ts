import { shardOffsets } from './info.js';
import { countSlots, type KeyCounts } from './key-counts.js';
import { mapBounded, sleep, within } from './pool.js';
import { type Probe, rereadViews } from './probe.js';
import { buildTopology, selfOf, type Topology } from './topology.js';

export interface SecondLookOptions {
  readonly deadlineAt: number;
  /** Least time between the two looks; 0 skips the second look (nothing is called moving). */
  readonly waitMs?: number;
  readonly concurrency?: number;
  readonly now?: () => number;
}

/** One node's answer about one slot: who owns it, and its own migrating/importing peer. */
function slotState(topology: Topology, id: string, slot: number): string {
  const table = topology.ownersByVoter.get(id);
  const owner = table ? (topology.ownerIds[table[slot] ?? -1] ?? '-') : '?';
  const self = topology.nodes.get(id)?.self;
  const migrating = self?.migrating.find((m) => m.slot === slot)?.peer ?? '-';
  const importing = self?.importing.find((m) => m.slot === slot)?.peer ?? '-';
  return `${owner}>${migrating}<${importing}`;
}

/** Slots on which some node that answered both times changed its own view. */
function viewsChanged(first: Topology, second: Topology, slots: ReadonlySet<number>): Set<number> {
  const changed = new Set<number>();
  const ids = [...first.ownersByVoter.keys()].filter((id) => second.ownersByVoter.has(id));
  for (const slot of slots) {
    if (ids.some((id) => slotState(first, id, slot) !== slotState(second, id, slot))) changed.add(slot);
  }
  return changed;
}

/** Open slots whose migrating node lost keys between the looks: keys are leaving right now. */
function keysLeaving(
  topology: Topology,
  counts: KeyCounts,
  again: ReadonlyMap<string, ReadonlyMap<number, number>>,
  slots: ReadonlySet<number>,
): Set<number> {
  const leaving = new Set<number>();
  for (const view of topology.voters) {
    const self = selfOf(view);
    const later = self ? again.get(self.id) : undefined;
    if (!self || !later) continue;
    for (const { slot } of self.migrating) {
      if (!slots.has(slot)) continue;
      const before = counts.bySlot.get(self.id)?.get(slot) ?? 0;
      if ((later.get(slot) ?? 0) < before) leaving.add(slot);
    }
  }
  return leaving;
}

/**
 * Looks at the suspect slots a second time, a moment later: a slot whose owners or open states changed in any
 * node's view, or whose migrating node is losing keys, is moving (a live resharding or gossip still spreading),
 * not stuck. Only what stayed the same in both looks may be called a fault.
 */
export async function movingSlots(
  probe: Probe,
  topology: Topology,
  counts: KeyCounts,
  suspects: ReadonlySet<number>,
  options: SecondLookOptions,
): Promise<Set<number>> {
  if (suspects.size === 0 || options.waitMs === 0) return new Set();
  const now = options.now ?? Date.now;
  const wait = Math.min(options.waitMs ?? 200, options.deadlineAt - now() - 300);
  if (wait > 0) await sleep(wait);
  const [again, recount] = await Promise.all([
    rereadViews(probe),
    recountSlots(probe, topology, counts, [...suspects], options),
  ]);
  const second = buildTopology(again.views);
  return new Set([
    ...viewsChanged(topology, second, suspects),
    ...keysLeaving(topology, counts, recount, suspects),
  ]);
}

async function recountSlots(
  probe: Probe,
  topology: Topology,
  counts: KeyCounts,
  slots: readonly number[],
  options: SecondLookOptions,
): Promise<Map<string, Map<number, number>>> {
  const now = options.now ?? Date.now;
  const again = new Map<string, Map<number, number>>();
  const migrators = [...topology.nodes.values()].filter(
    (node) => (node.self?.migrating.length ?? 0) > 0 && counts.counted.has(node.id),
  );
  await mapBounded(migrators, options.concurrency ?? 16, async (node) => {
    const client = node.view ? probe.clients.get(node.view.address) : undefined;
    if (!client) return;
    const counted = await within(
      countSlots(client, slots).catch(() => null),
      options.deadlineAt - now(),
    );
    if (counted.done && counted.value) again.set(node.id, counted.value);
  });
  return again;
}

/**
 * For each master that failed or does not answer while some of its replicas do: the highest replication
 * offset those replicas last heard it announce on the cluster bus (CLUSTER SHARDS), by master id. One read
 * per such replica, only then: a healthy cluster pays nothing. The announced offset is a few pings old (up
 * to about half the node timeout, 0 when none was heard), so it can only show a replica behind, never prove
 * one level.
 */
export async function lastAnnouncedOffsets(
  probe: Probe,
  topology: Topology,
  options: { readonly deadlineAt: number; readonly concurrency?: number; readonly now?: () => number },
): Promise<Map<string, number>> {
  const now = options.now ?? Date.now;
  const silent = [...topology.nodes.values()].filter(
    (n) => n.role === 'master' && (n.failed || !n.view?.reachable),
  );
  const asks = silent.flatMap((master) =>
    (topology.replicasOf.get(master.id) ?? []).flatMap((replica) => {
      const client = replica.view?.reachable ? probe.clients.get(replica.view.address) : undefined;
      return client ? [{ master: master.id, client }] : [];
    }),
  );
  const offsets = new Map<string, number>();
  await mapBounded(asks, options.concurrency ?? 16, async ({ master, client }) => {
    const read = await within(
      client.call('CLUSTER', 'SHARDS').catch(() => null),
      options.deadlineAt - now(),
    );
    if (!read.done) return;
    const heard = shardOffsets(read.value, new Set([master])).get(master);
    // 0: the replica never heard an offset from it (its last ping predates the first write).
    if (heard !== undefined && heard > 0) offsets.set(master, Math.max(offsets.get(master) ?? 0, heard));
  });
  return offsets;
}
