import { type AnalysisContext, finding } from './finding.js';
import { nodeLabel } from './node-label.js';
import type { Finding } from './report.js';
import { formatRanges, rangesFromSlots, type SlotRange } from './slot-ranges.js';
import { addressOrder, selfOf, type Topology } from './topology.js';

/** Nodes seeing one thing differently from the rest. `key` is stable across reads. */
export interface Disagreement {
  /** The nodes whose views differ on it (for membership: both sides). */
  readonly nodes: readonly string[];
  readonly key: string;
  readonly text: string;
}

interface SlotDifference {
  readonly claimed: string | null;
  readonly consensus: string | null;
  readonly ranges: readonly SlotRange[];
}

/** Where one owner table differs from the consensus, grouped by (claimed, consensus) owner pair. */
function slotDifferences(topology: Topology, seen: Int32Array): SlotDifference[] {
  const consensusTable = topology.ownerIndex;
  if (seen === consensusTable) return [];
  const idOf = (i: number) => (i < 0 ? null : (topology.ownerIds[i] ?? null));
  const groups = new Map<string, { claimed: string | null; consensus: string | null; slots: number[] }>();
  for (let slot = 0; slot < consensusTable.length; slot++) {
    const claimedIndex = seen[slot] ?? -1;
    const consensusIndex = consensusTable[slot] ?? -1;
    if (claimedIndex === consensusIndex) continue;
    const claimed = idOf(claimedIndex);
    const consensus = idOf(consensusIndex);
    const key = `${claimed}|${consensus}`;
    const group = groups.get(key);
    if (group) group.slots.push(slot);
    else groups.set(key, { claimed, consensus, slots: [slot] });
  }
  return [...groups.values()].map(({ claimed, consensus, slots }) => ({
    claimed,
    consensus,
    ranges: rangesFromSlots(slots),
  }));
}

function slotDisagreements(
  topology: Topology,
  viewerId: string,
  differences: (table: Int32Array) => SlotDifference[],
): Disagreement[] {
  const seen = topology.ownersByVoter.get(viewerId);
  if (!seen) return [];
  return differences(seen).map(({ claimed, consensus, ranges }) => ({
    nodes: [viewerId],
    key: `slots|${viewerId}|${claimed}|${consensus}|${formatRanges(ranges)}`,
    text: `${nodeLabel(topology, viewerId)} sees slots ${formatRanges(ranges, 6)} owned by ${nodeLabel(topology, claimed)}; the others see ${nodeLabel(topology, consensus)}`,
  }));
}

const labels = (topology: Topology, ids: readonly string[]): string =>
  ids.map((id) => nodeLabel(topology, id)).join(', ');

/** Nodes that some views list and others have forgotten (or not learned yet); handshakes are still joining. */
function membershipDisagreements(topology: Topology): Disagreement[] {
  const viewers = [...topology.voters].sort(addressOrder).flatMap((v) => {
    const id = selfOf(v)?.id;
    return id ? [id] : [];
  });
  const shaking = new Map(
    topology.voters.map((v) => [
      selfOf(v)?.id,
      new Set((v.nodes ?? []).filter((e) => e.flags.includes('handshake')).map((e) => e.address)),
    ]),
  );
  const found: Disagreement[] = [];
  for (const node of topology.nodes.values()) {
    if (node.handshake || node.listers.length === 0) continue;
    const listing = new Set(node.listers);
    const forgot = viewers.filter(
      (id) => id !== node.id && !listing.has(id) && !shaking.get(id)?.has(node.address),
    );
    if (forgot.length === 0) continue;
    const still = node.listers;
    found.push({
      nodes: [...still, ...forgot],
      key: `members|${node.id}|${still.join(',')}|${forgot.join(',')}`,
      text: `${labels(topology, still)} still list ${nodeLabel(topology, node.id)}; ${labels(topology, forgot)} ${forgot.length === 1 ? 'has' : 'have'} forgotten it`,
    });
  }
  return found;
}

/**
 * What each reachable node sees differently from the consensus: slot owners, who replicates whom, which
 * nodes exist. PFAIL and FAIL flags are deliberately not compared: they are opinions that gossip spreads.
 */
export function findDisagreements(topology: Topology): Disagreement[] {
  const found: Disagreement[] = [];
  // Views that share an owner table differ from the consensus in the same slots: compare each table once.
  const known = new Map<Int32Array, SlotDifference[]>();
  const differences = (table: Int32Array) => {
    let diff = known.get(table);
    if (!diff) {
      diff = slotDifferences(topology, table);
      known.set(table, diff);
    }
    return diff;
  };
  for (const view of topology.voters) {
    const self = selfOf(view);
    if (!self || !view.nodes) continue;
    found.push(...slotDisagreements(topology, self.id, differences));
    for (const entry of view.nodes) {
      const consensus = topology.nodes.get(entry.id);
      if (!consensus || consensus.failed || entry.flags.includes('handshake') || entry.flags.includes('fail'))
        continue;
      if (entry.masterId !== consensus.masterId && consensus.self) {
        found.push({
          nodes: [self.id],
          key: `master|${self.id}|${entry.id}|${entry.masterId}`,
          text: `${nodeLabel(topology, self.id)} sees ${nodeLabel(topology, entry.id)} as ${entry.masterId ? `replica of ${nodeLabel(topology, entry.masterId)}` : 'a master'}; it says it is ${consensus.masterId ? `replica of ${nodeLabel(topology, consensus.masterId)}` : 'a master'}`,
        });
      }
    }
  }
  found.push(...membershipDisagreements(topology));
  return found;
}

export function viewsDisagree(ctx: AnalysisContext, disagreements: readonly Disagreement[]): Finding[] {
  if (disagreements.length === 0) return [];
  const nodes = [...new Set(disagreements.flatMap((d) => d.nodes))];
  return [
    finding(
      'VIEWS_DISAGREE',
      'warning',
      `${nodes.length === 1 ? '1 node disagrees' : `${nodes.length} nodes disagree`} with the rest of the cluster: ${nodes.map((id) => nodeLabel(ctx.topology, id)).join(', ')}.`,
      {
        nodes,
        next: 'If it persists beyond a few node timeouts, the node with the lower config epoch is wrong: the plan settles ownership with SETSLOT NODE / BUMPEPOCH.',
        details: disagreements.map((d) => d.text),
      },
    ),
  ];
}
