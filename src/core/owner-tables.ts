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
  private readonly rangeIds = new WeakMap<readonly SlotRange[], number>();
  private readonly rangeTexts = new Map<string, number>();
  private unique = 0;

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

  /**
   * Each owner's ranges, by owner index (joined numbers, trailing owners without slots left out): equal keys,
   * equal ownership, whatever order the lines come in. A node listed twice with slots gets a key of its own.
   */
  private keyOf(nodes: readonly ClusterNodeEntry[]): string {
    const claims: number[] = [];
    let last = -1;
    for (const node of nodes) {
      const owner = this.ids.of(node.id);
      if (node.slots.length === 0) continue;
      if (claims[owner] !== undefined) return `listed twice ${this.unique++}`;
      claims[owner] = this.rangesId(node.slots);
      if (owner > last) last = owner;
    }
    let key = '';
    for (let owner = 0; owner <= last; owner++) key += `${claims[owner] ?? ''},`;
    return key;
  }

  /** One small number per distinct list of ranges. */
  private rangesId(ranges: readonly SlotRange[]): number {
    let id = this.rangeIds.get(ranges);
    if (id === undefined) {
      const text = ranges.map(([start, end]) => `${start}-${end}`).join(',');
      id = this.rangeTexts.get(text);
      if (id === undefined) {
        id = this.rangeTexts.size;
        this.rangeTexts.set(text, id);
      }
      this.rangeIds.set(ranges, id);
    }
    return id;
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
