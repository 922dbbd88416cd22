import type { ClusterNodeEntry } from '../cluster-nodes.js';
import { closeProbe, type ProbeOptions, probeCluster } from '../probe.js';
import { type SlotRange, slotsIn } from '../slot-ranges.js';
import { buildTopology, type Topology } from '../topology.js';

/** The cluster as every reachable node sees it right now. */
export class Snapshot {
  constructor(readonly topology: Topology) {}

  /** Every reachable node's own view says `id` owns every slot of `ranges`. */
  everyoneSeesOwner(id: string, ranges: readonly SlotRange[]): boolean {
    const index = this.topology.ownerIds.indexOf(id);
    if (index < 0 || this.topology.ownersByVoter.size === 0) return false;
    for (const table of this.topology.ownersByVoter.values()) {
      for (const slot of slotsIn(ranges)) if (table[slot] !== index) return false;
    }
    return true;
  }

  /** The lines of every reachable node's own view about `id` (its own line included). */
  linesAbout(id: string): ClusterNodeEntry[] {
    return this.topology.voters.flatMap((v) => (v.nodes ?? []).filter((e) => e.id === id));
  }

  /** The node's own `myself` line, when it answered. */
  self(id: string): ClusterNodeEntry | null {
    return this.topology.nodes.get(id)?.self ?? null;
  }

  /** The node's whole own view, when it answered. */
  viewOf(id: string): readonly ClusterNodeEntry[] | null {
    const node = this.topology.nodes.get(id);
    return node?.view?.reachable ? (node.view.nodes ?? null) : null;
  }

  /** The address to dial for a node (the one that answered, else the announced one). */
  address(id: string): string | null {
    const node = this.topology.nodes.get(id);
    return node?.view?.address ?? node?.address ?? null;
  }

  /** Ids of the nodes that answered. */
  reachable(): string[] {
    return [...this.topology.nodes.values()].filter((n) => n.view?.reachable && n.self).map((n) => n.id);
  }

  /** Who owns the slot in the node's own view (null: unassigned there, or the node did not answer). */
  ownerIn(id: string, slot: number): string | null {
    const table = this.topology.ownersByVoter.get(id);
    return table ? (this.topology.ownerIds[table[slot] ?? -1] ?? null) : null;
  }

  migratingTo(id: string, slot: number): string | null {
    return this.self(id)?.migrating.find((m) => m.slot === slot)?.peer ?? null;
  }

  importingFrom(id: string, slot: number): string | null {
    return this.self(id)?.importing.find((m) => m.slot === slot)?.peer ?? null;
  }

  /** Reachable nodes that are masters in their own view. */
  masters(): string[] {
    return this.reachable().filter((id) => this.self(id)?.role === 'master');
  }

  hasOpenState(id: string, slot: number): boolean {
    const self = this.self(id);
    return [...(self?.migrating ?? []), ...(self?.importing ?? [])].some((m) => m.slot === slot);
  }
}

/** Reads every node's view once (no key counts: steps count what they need) and closes the connections. */
export async function takeSnapshot(seeds: readonly string[], options: ProbeOptions): Promise<Snapshot> {
  const probe = await probeCluster(seeds, { ...options, countOwnKeys: false });
  closeProbe(probe);
  return new Snapshot(buildTopology(probe.views));
}
