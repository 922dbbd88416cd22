import type { NodeClient } from './connection.js';
import { mapBounded, sleep } from './pool.js';
import { SLOT_COUNT } from './slot-ranges.js';
import type { Topology, TopologyNode } from './topology.js';

/** What reachable nodes said about keys, by node id. */
export interface KeyCounts {
  /** Non-zero COUNTKEYSINSLOT results for the slots that were asked about. */
  readonly bySlot: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** Which slots were counted on which node. */
  readonly counted: ReadonlyMap<string, ReadonlySet<number>>;
  readonly dbsize: ReadonlyMap<string, number>;
  /** Second read of open slots' key counts, to tell a live resharding from a stuck one. */
  readonly secondRead: ReadonlyMap<string, ReadonlyMap<number, number>>;
}

export interface CountOptions {
  /** Ends by then; what is not counted stays unknown. */
  readonly deadlineAt: number;
  /** Minimum time between the two reads of open slots. */
  readonly liveCheckMs?: number;
  readonly concurrency?: number;
  readonly now?: () => number;
}

const CHUNK = 4096;

/** Slots with no live, reachable owner, plus every open slot. */
export function affectedSlots(topology: Topology): Set<number> {
  const affected = new Set<number>();
  topology.owners.forEach((owner, slot) => {
    const node = owner === null ? undefined : topology.nodes.get(owner);
    if (!node || node.failed || !node.view?.reachable) affected.add(slot);
  });
  for (const slot of openSlotNumbers(topology)) affected.add(slot);
  return affected;
}

function openSlotNumbers(topology: Topology): Set<number> {
  const slots = new Set<number>();
  for (const node of topology.nodes.values()) {
    for (const m of [...(node.self?.migrating ?? []), ...(node.self?.importing ?? [])]) slots.add(m.slot);
  }
  return slots;
}

function ownedBy(topology: Topology, id: string): number[] {
  const slots: number[] = [];
  topology.owners.forEach((owner, slot) => {
    if (owner === id) slots.push(slot);
  });
  return slots;
}

async function countSlots(client: NodeClient, slots: readonly number[]): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (let i = 0; i < slots.length; i += CHUNK) {
    const chunk = slots.slice(i, i + CHUNK);
    const replies = await client.pipeline(chunk.map((slot) => ['CLUSTER', 'COUNTKEYSINSLOT', slot]));
    replies.forEach((reply, index) => {
      if (reply instanceof Error) throw reply;
      const keys = Number(reply);
      if (keys > 0) counts.set(chunk[index] as number, keys);
    });
  }
  return counts;
}

function withDeadline<T>(work: Promise<T>, deadlineAt: number, now: () => number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), Math.max(0, deadlineAt - now()));
  });
  return Promise.race([work.catch(() => null), expired]).finally(() => clearTimeout(timer));
}

/** Whether a node's keys matter: masters always, replicas only when their master cannot answer for them. */
function shouldCount(node: TopologyNode, topology: Topology): boolean {
  if (node.role === 'master') return true;
  const master = node.masterId ? topology.nodes.get(node.masterId) : undefined;
  return !master || master.failed || !master.view?.reachable;
}

/**
 * Counts keys where they matter, pipelined and bounded: the affected slots on every reachable master (and on
 * replicas of masters that cannot answer), and each master's own slots against DBSIZE to find orphaned keys.
 */
export async function countKeys(
  topology: Topology,
  clients: ReadonlyMap<string, NodeClient>,
  options: CountOptions,
): Promise<KeyCounts> {
  const now = options.now ?? Date.now;
  const affected = [...affectedSlots(topology)].sort((a, b) => a - b);
  const openSlots = openSlotNumbers(topology);
  const bySlot = new Map<string, Map<number, number>>();
  const counted = new Map<string, Set<number>>();
  const dbsize = new Map<string, number>();
  const secondRead = new Map<string, Map<number, number>>();
  const firstReadAt = now();

  const targets = [...topology.nodes.values()].filter(
    (node) => node.view?.reachable && clients.has(node.view.address) && shouldCount(node, topology),
  );

  await mapBounded(targets, options.concurrency ?? 16, async (node) => {
    const client = clients.get(node.view?.address ?? '') as NodeClient;
    const work = (async () => {
      const size = Number(await client.call('DBSIZE'));
      dbsize.set(node.id, size);
      if (size === 0) {
        counted.set(
          node.id,
          new Set(node.role === 'master' ? Array.from({ length: SLOT_COUNT }, (_, i) => i) : affected),
        );
        return;
      }
      const own = node.role === 'master' ? ownedBy(topology, node.id) : [];
      const importing = (node.self?.importing ?? []).map((m) => m.slot);
      const asked = [...new Set([...affected, ...own, ...importing])];
      const counts = await countSlots(client, asked);
      const seen = new Set(asked);
      const accounted = [...counts.values()].reduce((a, b) => a + b, 0);
      if (node.role === 'master' && accounted < size) {
        const rest = Array.from({ length: SLOT_COUNT }, (_, i) => i).filter((slot) => !seen.has(slot));
        for (const [slot, keys] of await countSlots(client, rest)) counts.set(slot, keys);
        for (const slot of rest) seen.add(slot);
      }
      bySlot.set(node.id, counts);
      counted.set(node.id, seen);
    })();
    await withDeadline(work, options.deadlineAt, now);
  });

  if (openSlots.size > 0) {
    const wait = (options.liveCheckMs ?? 200) - (now() - firstReadAt);
    if (wait > 0 && now() + wait < options.deadlineAt) await sleep(wait);
    const holders = [...topology.nodes.values()].filter(
      (node) => node.view?.reachable && clients.has(node.view.address) && counted.has(node.id),
    );
    await mapBounded(holders, options.concurrency ?? 16, async (node) => {
      const client = clients.get(node.view?.address ?? '') as NodeClient;
      const counts = await withDeadline(countSlots(client, [...openSlots]), options.deadlineAt, now);
      if (counts) secondRead.set(node.id, counts);
    });
  }
  return { bySlot, counted, dbsize, secondRead };
}
