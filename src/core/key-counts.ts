import type { NodeClient } from './connection.js';
import { mapBounded, within } from './pool.js';
import { DEFAULT_CONCURRENCY } from './probe.js';
import { rangesFromSlots } from './slot-ranges.js';
import { SlotSet } from './slot-set.js';
import type { Topology, TopologyNode } from './topology.js';

/** What reachable nodes said about keys, by node id. */
export interface KeyCounts {
  /** Non-zero COUNTKEYSINSLOT results for the slots that were asked about. */
  readonly bySlot: ReadonlyMap<string, ReadonlyMap<number, number>>;
  /** Which slots were counted on which node. */
  readonly counted: ReadonlyMap<string, SlotSet>;
  readonly dbsize: ReadonlyMap<string, number>;
}

export interface CountOptions {
  /** Ends by then; what is not counted stays unknown. */
  readonly deadlineAt: number;
  readonly concurrency?: number;
  readonly now?: () => number;
}

const CHUNK = 4096;
/** DBSIZE 0: every slot is known to hold no key. */
const EVERY_SLOT = SlotSet.all();

/** Slots with no live, reachable owner, plus every open slot. */
export function affectedSlots(topology: Topology): Set<number> {
  const affected = new Set<number>();
  // Whether each owner can answer, decided once per owner rather than once per slot.
  const live = topology.ownerIds.map((id) => {
    const node = topology.nodes.get(id);
    return node !== undefined && !node.failed && node.view?.reachable === true;
  });
  const { ownerIndex } = topology;
  for (let slot = 0; slot < ownerIndex.length; slot++) {
    const owner = ownerIndex[slot] ?? -1;
    if (owner < 0 || !live[owner]) affected.add(slot);
  }
  for (const slot of openSlotNumbers(topology)) affected.add(slot);
  return affected;
}

export function openSlotNumbers(topology: Topology): Set<number> {
  const slots = new Set<number>();
  for (const node of topology.nodes.values()) {
    for (const m of [...(node.self?.migrating ?? []), ...(node.self?.importing ?? [])]) slots.add(m.slot);
  }
  return slots;
}

/** Counts keys of many slots in one round trip; only reads (EVAL_RO), blocks the node for a few ms at most. */
const COUNT_SCRIPT = `
local out = {}
for i = 1, #ARGV, 2 do
  for slot = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) do
    local n = redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot)
    if n > 0 then out[#out + 1] = slot; out[#out + 1] = n end
  end
end
return out`;

const scriptCommand = (slots: readonly number[]) => [
  'EVAL_RO',
  COUNT_SCRIPT,
  0,
  ...rangesFromSlots(slots).flat(),
];

function scriptCounts(reply: unknown): Map<number, number> {
  const flat = Array.isArray(reply) ? reply.map(Number) : [];
  const counts = new Map<number, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) counts.set(flat[i] as number, flat[i + 1] as number);
  return counts;
}

async function countByScript(client: NodeClient, slots: readonly number[]): Promise<Map<number, number>> {
  const [command = '', ...args] = scriptCommand(slots);
  return scriptCounts(await client.call(String(command), ...args));
}

async function countByPipeline(client: NodeClient, slots: readonly number[]): Promise<Map<number, number>> {
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

/** Non-zero key counts of `slots` on one node: a script when allowed, else pipelined COUNTKEYSINSLOT. */
export async function countSlots(client: NodeClient, slots: readonly number[]): Promise<Map<number, number>> {
  if (slots.length === 0) return new Map();
  if (slots.length > 8) {
    const counted = await countByScript(client, slots).catch(() => null);
    if (counted) return counted;
  }
  return countByPipeline(client, slots);
}

/**
 * DBSIZE and the key counts of `slots` in one round trip; the counts are null when the node refused a
 * command for them (they must then be read another way, or not at all).
 */
async function sizeAndCounts(
  client: NodeClient,
  slots: readonly number[],
): Promise<{ size: number; counts: Map<number, number> | null }> {
  const byScript = slots.length > 8;
  const [size, ...replies] = await client.pipeline([
    ['DBSIZE'],
    ...(byScript ? [scriptCommand(slots)] : slots.map((slot) => ['CLUSTER', 'COUNTKEYSINSLOT', slot])),
  ]);
  if (size instanceof Error) throw size;
  if (replies.some((reply) => reply instanceof Error)) return { size: Number(size), counts: null };
  if (byScript) return { size: Number(size), counts: scriptCounts(replies[0]) };
  const counts = new Map<number, number>();
  replies.forEach((reply, index) => {
    const keys = Number(reply);
    if (keys > 0) counts.set(slots[index] as number, keys);
  });
  return { size: Number(size), counts };
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
  const bySlot = new Map<string, Map<number, number>>();
  const counted = new Map<string, SlotSet>();
  const dbsize = new Map<string, number>();

  const targets = [...topology.nodes.values()].filter(
    (node) => node.view?.reachable && clients.has(node.view.address) && shouldCount(node, topology),
  );

  await mapBounded(targets, options.concurrency ?? DEFAULT_CONCURRENCY, async (node) => {
    const client = clients.get(node.view?.address ?? '') as NodeClient;
    const work = (async () => {
      const own = node.role === 'master' ? (topology.ownedSlots.get(node.id) ?? []) : [];
      const importing = (node.self?.importing ?? []).map((m) => m.slot);
      const seen = SlotSet.of([...affected, ...own, ...importing]);
      const members = seen.members();
      const early = node.view?.ownKeys;
      // Counted while probed (its own view's slots): enough when that covers every slot asked about here.
      const first =
        early && members.every((slot) => early.counted.has(slot))
          ? { size: early.dbsize, counts: new Map([...early.counts].filter(([slot]) => seen.has(slot))) }
          : await sizeAndCounts(client, members);
      const size = first.size;
      dbsize.set(node.id, size);
      if (size === 0) {
        counted.set(node.id, EVERY_SLOT);
        return;
      }
      const counts = first.counts ?? (await countSlots(client, members));
      const accounted = [...counts.values()].reduce((a, b) => a + b, 0);
      if (node.role === 'master' && accounted < size) {
        const rest = seen.missing();
        for (const [slot, keys] of await countSlots(client, rest)) counts.set(slot, keys);
        for (const slot of rest) seen.add(slot);
      }
      bySlot.set(node.id, counts);
      counted.set(node.id, seen);
    })();
    await within(
      work.catch(() => null),
      options.deadlineAt - now(),
    );
  });

  return { bySlot, counted, dbsize };
}
