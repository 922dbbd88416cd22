import { keysOn } from './gaps.js';
import type { KeyCounts } from './key-counts.js';
import type { OpenSlot } from './report.js';
import type { Topology } from './topology.js';

function changed(counts: KeyCounts, id: string, slot: number): boolean {
  const first = keysOn(counts, id, slot);
  const second = counts.secondRead.get(id);
  if (first === null || !second) return false;
  return (second.get(slot) ?? 0) !== first;
}

/** Every `[slot->-id]` / `[slot-<-id]` a node reports about itself. */
export function findOpenSlots(topology: Topology, counts: KeyCounts): OpenSlot[] {
  const open: OpenSlot[] = [];
  for (const node of topology.nodes.values()) {
    const states = [
      ...(node.self?.migrating ?? []).map((m) => ({ ...m, state: 'migrating' as const })),
      ...(node.self?.importing ?? []).map((m) => ({ ...m, state: 'importing' as const })),
    ];
    for (const { slot, peer, state } of states) {
      open.push({
        slot,
        state,
        node: node.id,
        peer,
        nodeRole: node.role,
        nodeKeys: keysOn(counts, node.id, slot),
        peerKeys: keysOn(counts, peer, slot),
        live: changed(counts, node.id, slot) || changed(counts, peer, slot),
      });
    }
  }
  return open.sort((a, b) => a.slot - b.slot || a.state.localeCompare(b.state));
}
