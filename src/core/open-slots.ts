import { keysOn } from './gaps.js';
import type { KeyCounts } from './key-counts.js';
import type { OpenSlot } from './report.js';
import type { Topology } from './topology.js';

/** Every `[slot->-id]` / `[slot-<-id]` a node reports about itself. */
export function findOpenSlots(
  topology: Topology,
  counts: KeyCounts,
  moving: ReadonlySet<number>,
): OpenSlot[] {
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
        live: moving.has(slot),
      });
    }
  }
  return open.sort((a, b) => a.slot - b.slot || a.state.localeCompare(b.state));
}
