import type { KeyCounts } from './key-counts.js';
import type { Gap, GapReason } from './report.js';
import { SLOT_COUNT } from './slot-ranges.js';
import { replicaState, type Topology, type TopologyNode } from './topology.js';

interface SlotGap {
  readonly reason: GapReason;
  readonly owner: string | null;
  readonly keys: number | null;
}

/** Keys a slot holds on a node, or null when that node's keys were not counted. */
export function keysOn(counts: KeyCounts, id: string, slot: number): number | null {
  if (!counts.counted.get(id)?.has(slot)) return null;
  return counts.bySlot.get(id)?.get(slot) ?? 0;
}

/** A replica's counts stand for its master's only when it synced and its link did not stay down too long. */
const countsForMaster = (replica: TopologyNode): boolean => replicaState(replica)?.current === true;

/** Node ids whose key counts stand for each master's, the master first; built once per report. */
function holdersByMaster(topology: Topology): Map<string, string[]> {
  const holders = new Map<string, string[]>();
  for (const node of topology.nodes.values()) {
    if (node.role !== 'master') continue;
    const replicas = (topology.replicasOf.get(node.id) ?? []).filter(countsForMaster);
    holders.set(node.id, [node.id, ...replicas.map((r) => r.id)]);
  }
  return holders;
}

const maxKnown = (counts: KeyCounts, ids: readonly string[], slot: number): number | null => {
  let max: number | null = null;
  for (const id of ids) {
    const keys = keysOn(counts, id, slot);
    if (keys !== null && (max === null || keys > max)) max = keys;
  }
  return max;
};

interface GapInput {
  readonly topology: Topology;
  readonly counts: KeyCounts;
  readonly holders: ReadonlyMap<string, readonly string[]>;
}

/** Keys of an unassigned slot: summed over every master group; null when a group that may hold some is silent. */
function unassignedKeys({ topology, counts, holders }: GapInput, slot: number): number | null {
  let total = 0;
  let unknown = false;
  for (const [master, ids] of holders) {
    const known = maxKnown(counts, ids, slot);
    if (known === null) unknown = unknown || !topology.nodes.get(master)?.failed;
    else total += known;
  }
  return unknown && total === 0 ? null : total;
}

/** Keys of a slot whose owner is down: what its up-to-date replicas still hold. */
const ownerKeys = ({ counts, holders }: GapInput, owner: string, slot: number): number | null =>
  maxKnown(counts, holders.get(owner) ?? [owner], slot);

function slotGap(input: GapInput, slot: number): SlotGap | null {
  const owner = input.topology.owners[slot] ?? null;
  if (owner === null) return { reason: 'unassigned', owner, keys: unassignedKeys(input, slot) };
  const node = input.topology.nodes.get(owner);
  if (node?.failed) return { reason: 'owner-failed', owner, keys: ownerKeys(input, owner, slot) };
  if (!node?.view?.reachable)
    return { reason: 'owner-unreachable', owner, keys: ownerKeys(input, owner, slot) };
  return null;
}

/** By owner index: 1 when the owner is alive and reachable, so its slots are covered. */
function servingOwners(topology: Topology): Uint8Array {
  const serving = new Uint8Array(topology.ownerIds.length);
  topology.ownerIds.forEach((id, index) => {
    const node = topology.nodes.get(id);
    serving[index] = node && !node.failed && node.view?.reachable ? 1 : 0;
  });
  return serving;
}

/** Uncovered slots merged into ranges of the same reason and owner (and known or unknown key counts). */
export function findGaps(topology: Topology, counts: KeyCounts): Gap[] {
  if (topology.voters.length === 0) return [];
  const input: GapInput = { topology, counts, holders: holdersByMaster(topology) };
  const serving = servingOwners(topology);
  const gaps: Gap[] = [];
  let current: (Gap & { known: boolean }) | null = null;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (current === null && serving[topology.ownerIndex[slot] ?? -1] === 1) continue;
    const gap = slotGap(input, slot);
    const continues =
      gap !== null &&
      current !== null &&
      current.end === slot - 1 &&
      current.reason === gap.reason &&
      current.owner === gap.owner &&
      current.known === (gap.keys !== null);
    if (continues && current && gap) {
      current.end = slot;
      if (current.keys !== null && gap.keys !== null) current.keys += gap.keys;
      continue;
    }
    if (current) gaps.push(stripKnown(current));
    current = gap ? { start: slot, end: slot, ...gap, known: gap.keys !== null } : null;
  }
  if (current) gaps.push(stripKnown(current));
  return gaps;
}

const stripKnown = ({ known: _known, ...gap }: Gap & { known: boolean }): Gap => gap;
