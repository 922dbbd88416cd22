import type { KeyCounts } from './key-counts.js';
import type { Gap, GapReason } from './report.js';
import { SLOT_COUNT } from './slot-ranges.js';
import type { Topology } from './topology.js';

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

/** Keys of an unassigned slot: summed over every master group; null when a group that may hold some is silent. */
function unassignedKeys(topology: Topology, counts: KeyCounts, slot: number): number | null {
  let total = 0;
  let unknown = false;
  for (const node of topology.nodes.values()) {
    if (node.role !== 'master') continue;
    const members = [node, ...[...topology.nodes.values()].filter((n) => n.masterId === node.id)];
    const known = members.map((m) => keysOn(counts, m.id, slot)).filter((k): k is number => k !== null);
    if (known.length === 0) unknown = unknown || !node.failed;
    else total += Math.max(...known);
  }
  return unknown && total === 0 ? null : total;
}

/** Keys of a slot whose owner is down: what its replicas still hold. */
function ownerKeys(topology: Topology, counts: KeyCounts, owner: string, slot: number): number | null {
  const holders = [
    owner,
    ...[...topology.nodes.values()].filter((n) => n.masterId === owner).map((n) => n.id),
  ];
  const known = holders.map((id) => keysOn(counts, id, slot)).filter((k): k is number => k !== null);
  return known.length === 0 ? null : Math.max(...known);
}

function slotGap(topology: Topology, counts: KeyCounts, slot: number): SlotGap | null {
  const owner = topology.owners[slot] ?? null;
  if (owner === null) return { reason: 'unassigned', owner, keys: unassignedKeys(topology, counts, slot) };
  const node = topology.nodes.get(owner);
  if (node?.failed) return { reason: 'owner-failed', owner, keys: ownerKeys(topology, counts, owner, slot) };
  if (!node?.view?.reachable)
    return { reason: 'owner-unreachable', owner, keys: ownerKeys(topology, counts, owner, slot) };
  return null;
}

/** Uncovered slots merged into ranges of the same reason and owner (and known or unknown key counts). */
export function findGaps(topology: Topology, counts: KeyCounts): Gap[] {
  if (topology.voters.length === 0) return [];
  const gaps: Gap[] = [];
  let current: (Gap & { known: boolean }) | null = null;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const gap = slotGap(topology, counts, slot);
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
