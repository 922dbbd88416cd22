import type { ClusterNodeEntry } from './cluster-nodes.js';
import { SLOT_COUNT, type SlotRange } from './slot-ranges.js';

/** Node ids as small integers, so that 16384-slot tables compare numbers, not 40-character strings. */
export class IdIndex {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  of(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.index.set(id, i);
      this.ids.push(id);
    }
    return i;
  }
}

/** A slot → owner table (owner index, -1 for none) and how many views hold exactly it. */
export interface SharedTable {
  readonly table: Int32Array;
  weight: number;
}

const emptyTable = (): Int32Array => new Int32Array(SLOT_COUNT).fill(-1);

/** Fills a view's table in listing order (a later claim of a slot wins); says whether claims overlapped. */
function fill(nodes: readonly ClusterNodeEntry[], ids: IdIndex): { table: Int32Array; overlapping: boolean } {
  const table = emptyTable();
  let claimed = 0;
  for (const node of nodes) {
    const owner = ids.of(node.id);
    for (const [start, end] of node.slots) {
      claimed += end - start + 1;
      table.fill(owner, start, end + 1);
    }
  }
  let filled = 0;
  for (let slot = 0; slot < SLOT_COUNT; slot++) if (table[slot] !== -1) filled++;
  return { table, overlapping: filled !== claimed };
}

/**
 * Every view's slot → owner table, built once per distinct ownership: views that give every node the same
 * slots (nearly all of them, in a healthy cluster) share one table. A view whose own claims overlap keeps
 * its own table, since there the order of its lines decides.
 */
export class OwnerTables {
  /** Distinct tables in the order of the first view holding each. */
  readonly distinct: SharedTable[] = [];
  private readonly byKey = new Map<string, SharedTable | 'overlapping'>();
  private readonly rangeIds = new WeakMap<readonly SlotRange[], string>();

  constructor(private readonly ids: IdIndex) {}

  /** The table of one view's lines. */
  of(nodes: readonly ClusterNodeEntry[]): Int32Array {
    const key = this.keyOf(nodes);
    const known = this.byKey.get(key);
    if (known && known !== 'overlapping') {
      known.weight++;
      return known.table;
    }
    const { table, overlapping } = fill(nodes, this.ids);
    const shared = { table, weight: 1 };
    this.distinct.push(shared);
    if (!known) this.byKey.set(key, overlapping ? 'overlapping' : shared);
    return table;
  }

  /** Owner index and ranges of every line with slots, sorted by owner: equal keys, equal ownership. */
  private keyOf(nodes: readonly ClusterNodeEntry[]): string {
    const claims: string[] = [];
    for (const node of nodes) {
      const owner = this.ids.of(node.id);
      if (node.slots.length > 0) claims.push(`${owner}:${this.rangesText(node.slots)}`);
    }
    return claims.sort().join(' ');
  }

  private rangesText(ranges: readonly SlotRange[]): string {
    let text = this.rangeIds.get(ranges);
    if (text === undefined) {
      text = ranges.map(([start, end]) => `${start}-${end}`).join(',');
      this.rangeIds.set(ranges, text);
    }
    return text;
  }
}

/** The owner most views name; a tie goes to the claim with the higher config epoch, then to the first seen. */
export function consensusOwners(distinct: readonly SharedTable[], epochs: readonly number[]): Int32Array {
  const [only, ...others] = distinct;
  if (!only) return emptyTable();
  if (others.length === 0) return only.table;
  const owners = new Int32Array(SLOT_COUNT);
  const epoch = (owner: number) => (owner < 0 ? -1 : (epochs[owner] ?? 0));
  const tally = new Map<number, number>();
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const first = only.table[slot] ?? -1;
    let unanimous = true;
    for (let t = 0; t < others.length && unanimous; t++) unanimous = others[t]?.table[slot] === first;
    if (unanimous) {
      owners[slot] = first;
      continue;
    }
    tally.clear();
    for (const { table, weight } of distinct) {
      const owner = table[slot] ?? -1;
      tally.set(owner, (tally.get(owner) ?? 0) + weight);
    }
    let best = -1;
    let bestVotes = -1;
    for (const [owner, votes] of tally) {
      if (votes > bestVotes || (votes === bestVotes && epoch(owner) > epoch(best))) {
        best = owner;
        bestVotes = votes;
      }
    }
    owners[slot] = best;
  }
  return owners;
}
