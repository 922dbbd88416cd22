import type { KeyCounts } from './key-counts.js';
import { SLOT_COUNT } from './slot-ranges.js';
import { selfOf, type Topology } from './topology.js';

/** Where a client that starts at one node ends up for one slot, following MOVED and ASK as the nodes answer. */
export type RouteEnd =
  | { readonly kind: 'served'; readonly node: string; readonly path: readonly string[] }
  | { readonly kind: 'loop'; readonly path: readonly string[] }
  /** A node answers CLUSTERDOWN or "slot not served" (a gap: reported as such). */
  | { readonly kind: 'down'; readonly path: readonly string[] }
  /** The path reaches a node whose view could not be read: nothing to conclude. */
  | { readonly kind: 'unknown'; readonly path: readonly string[] };

/** Keys of a slot that clients cannot reach, or a slot whose new keys cannot be written. */
export interface RouteProblem {
  readonly slot: number;
  /** `loop`: nodes send clients back and forth; `hidden`: clients end at a node that does not hold the keys. */
  readonly kind: 'loop' | 'hidden';
  /** The node whose keys are unreachable; null when it is about new keys (writes). */
  readonly holder: string | null;
  readonly keys: number;
  /** The redirects of the first client that fails, node ids in order. */
  readonly path: readonly string[];
}

export interface SlotRouting {
  /** Slots checked: open somewhere, owned differently in some view, or holding keys off their owner. */
  readonly checked: ReadonlySet<number>;
  readonly problems: readonly RouteProblem[];
  /** For every checked slot, the nodes whose own view says they own it. */
  readonly claims: ReadonlyMap<number, readonly string[]>;
  /** Slots some node migrates or imports. */
  readonly open: ReadonlySet<number>;
  /** Slots whose owner differs between nodes' own views. */
  readonly disputed: ReadonlySet<number>;
}

interface NodeState {
  readonly owners: Int32Array;
  readonly migrating: ReadonlyMap<number, string>;
  readonly importing: ReadonlyMap<number, string>;
}

/** Each readable node's own answers: who owns each slot, and what it migrates or imports. */
function nodeStates(topology: Topology): Map<string, NodeState> {
  const states = new Map<string, NodeState>();
  for (const view of topology.voters) {
    const self = selfOf(view);
    const owners = self ? topology.ownersByVoter.get(self.id) : undefined;
    if (!self || !owners) continue;
    states.set(self.id, {
      owners,
      migrating: new Map(self.migrating.map((m) => [m.slot, m.peer])),
      importing: new Map(self.importing.map((m) => [m.slot, m.peer])),
    });
  }
  return states;
}

const MAX_HOPS = 16;

/**
 * Follows one client request for a key of `slot`, as Redis's own getNodeByQuery answers it: the owner serves
 * (or, while migrating, sends ASK for a key it does not hold), an importing node serves after ASKING, every
 * other node answers MOVED to the owner in its own view.
 */
export function route(
  states: ReadonlyMap<string, NodeState>,
  ownerIds: readonly string[],
  start: string,
  slot: number,
  holder: string | null,
): RouteEnd {
  const path: string[] = [];
  const seen = new Set<string>();
  let node = start;
  let asking = false;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    path.push(node);
    const state = states.get(node);
    if (!state) return { kind: 'unknown', path };
    const visit = `${node}|${asking}`;
    if (seen.has(visit)) return { kind: 'loop', path };
    seen.add(visit);
    const ownerIndex = state.owners[slot] ?? -1;
    const owner = ownerIndex < 0 ? null : (ownerIds[ownerIndex] ?? null);
    if (owner === node) {
      const target = state.migrating.get(slot);
      if (target === undefined || holder === node) return { kind: 'served', node, path };
      node = target;
      asking = true;
      continue;
    }
    if (asking && state.importing.has(slot)) return { kind: 'served', node, path };
    if (owner === null) return { kind: 'down', path };
    node = owner;
    asking = false;
  }
  return { kind: 'loop', path };
}

function openSlots(states: ReadonlyMap<string, NodeState>): Set<number> {
  const slots = new Set<number>();
  for (const state of states.values()) {
    for (const slot of state.migrating.keys()) slots.add(slot);
    for (const slot of state.importing.keys()) slots.add(slot);
  }
  return slots;
}

function disputedSlots(states: ReadonlyMap<string, NodeState>): Set<number> {
  const slots = new Set<number>();
  // Views that agree on every owner share one table: compare distinct tables only.
  const [first, ...rest] = new Set([...states.values()].map((s) => s.owners));
  if (!first || rest.length === 0) return slots;
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const owner = first[slot];
    for (const table of rest) {
      if (table[slot] !== owner) {
        slots.add(slot);
        break;
      }
    }
  }
  return slots;
}

/** Slots where a master holds keys it does not own by consensus or by its own view. */
function keysOffOwner(
  topology: Topology,
  counts: KeyCounts,
  states: ReadonlyMap<string, NodeState>,
): Set<number> {
  const slots = new Set<number>();
  for (const [holder, bySlot] of counts.bySlot) {
    const own = states.get(holder)?.owners;
    const index = topology.ownerIds.indexOf(holder);
    for (const slot of bySlot.keys()) {
      if (topology.owners[slot] !== holder || (own && own[slot] !== index)) slots.add(slot);
    }
  }
  return slots;
}

/** Reachable masters holding keys of the slot, with how many. */
function holdersOf(topology: Topology, counts: KeyCounts, slot: number): { node: string; keys: number }[] {
  const holders: { node: string; keys: number }[] = [];
  for (const [node, bySlot] of counts.bySlot) {
    const keys = bySlot.get(slot) ?? 0;
    const entry = topology.nodes.get(node);
    if (keys > 0 && entry?.role === 'master' && entry.view?.reachable) holders.push({ node, keys });
  }
  return holders;
}

/**
 * For every slot that could be misrouted, follows a client from every readable node to where it really ends:
 * keys on a node no client reaches, and redirect loops, are problems. Decided from each node's own view.
 */
export function analyzeRouting(topology: Topology, counts: KeyCounts): SlotRouting {
  const states = nodeStates(topology);
  const open = openSlots(states);
  const disputed = disputedSlots(states);
  const checked = new Set([...open, ...disputed, ...keysOffOwner(topology, counts, states)]);
  const starts = [...states.keys()];
  const problems: RouteProblem[] = [];
  const claims = new Map<number, string[]>();
  for (const slot of checked) {
    claims.set(
      slot,
      starts.filter((id) => topology.ownerIds[states.get(id)?.owners[slot] ?? -1] === id),
    );
    const targets: { node: string | null; keys: number }[] = [
      ...holdersOf(topology, counts, slot),
      { node: null, keys: 0 },
    ];
    for (const target of targets) {
      for (const start of starts) {
        const end = route(states, topology.ownerIds, start, slot, target.node);
        const failed =
          end.kind === 'loop'
            ? 'loop'
            : end.kind === 'served' && target.node !== null && end.node !== target.node
              ? 'hidden'
              : null;
        if (failed) {
          problems.push({ slot, kind: failed, holder: target.node, keys: target.keys, path: end.path });
          break;
        }
      }
    }
  }
  return { checked, problems, claims, open, disputed };
}
