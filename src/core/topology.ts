import { type ClusterNodeEntry, hasFlag } from './cluster-nodes.js';
import { groupBy } from './collections.js';
import { beyondReplicaValidity, REPLICA_VALIDITY_DEFAULTS, replicaLink } from './info.js';
import type { NodeView } from './probe.js';
import { SLOT_COUNT } from './slot-ranges.js';

/** One node as the cluster as a whole sees it. */
export interface TopologyNode {
  readonly id: string;
  /** The address the cluster announces for it (or the one we dialed when it knows only itself). */
  readonly address: string | null;
  readonly role: 'master' | 'replica' | 'unknown';
  readonly masterId: string | null;
  readonly configEpoch: number;
  /** Its own flags when we reached it, else the flags most views give it. */
  readonly flags: readonly string[];
  /** FAIL agreed: at least half of the other voting views flag it `fail`. */
  readonly failed: boolean;
  /** Some views flag it `fail?` or `fail` without agreement: one node's opinion, not a fault. */
  readonly suspected: boolean;
  readonly handshake: boolean;
  readonly view: NodeView | null;
  /** Its own `myself` line. */
  readonly self: ClusterNodeEntry | null;
  /** How many voting views list it. */
  readonly listedBy: number;
  /** The lines other voting views have about it. */
  readonly seenBy: readonly ClusterNodeEntry[];
  /** Ids of the other voting views that list it. */
  readonly listers: readonly string[];
}

export interface Topology {
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Consensus owner of every slot (node id) or null. */
  readonly owners: readonly (string | null)[];
  /** Each voter's own slot → owner table (indexes into `ownerIds`, -1 for none), by voter id. */
  readonly ownersByVoter: ReadonlyMap<string, Int32Array>;
  /** The consensus table in the same form. */
  readonly ownerIndex: Int32Array;
  readonly ownerIds: readonly string[];
  /** The slots each node owns by consensus, ascending. */
  readonly ownedSlots: ReadonlyMap<string, readonly number[]>;
  /** Reachable cluster views that vote on the consensus. */
  readonly voters: readonly NodeView[];
  /** Reachable views that know (almost) nobody: alone in their own cluster. */
  readonly loners: readonly NodeView[];
  /** Views that answered but are not the cluster's (a node probed twice under two addresses is dropped). */
  readonly viewsById: ReadonlyMap<string, NodeView>;
  /** The replicas of each master, by master id. */
  readonly replicasOf: ReadonlyMap<string, readonly TopologyNode[]>;
}

export const selfOf = (view: NodeView): ClusterNodeEntry | null => view.nodes?.find((n) => n.myself) ?? null;

function mostCommon<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [value, count] of counts) {
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** Views of distinct nodes; a node reached under two addresses keeps the view under its announced one. */
function dedupeViews(views: readonly NodeView[]): Map<string, NodeView> {
  const announced = new Set(views.flatMap((v) => (v.nodes ?? []).map((n) => n.address)));
  const byId = new Map<string, NodeView>();
  for (const view of views) {
    const self = selfOf(view);
    if (!self) continue;
    const existing = byId.get(self.id);
    if (!existing || (!announced.has(existing.address) && announced.has(view.address)))
      byId.set(self.id, view);
  }
  return byId;
}

/** Node ids as small integers, so that 16384-slot tables compare numbers, not 40-character strings. */
class IdIndex {
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

/** One view's slot → owner table (owner index, -1 for none). */
function slotOwners(view: NodeView, ids: IdIndex): Int32Array {
  const owners = new Int32Array(SLOT_COUNT).fill(-1);
  for (const node of view.nodes ?? []) {
    const owner = ids.of(node.id);
    for (const [start, end] of node.slots) owners.fill(owner, start, end + 1);
  }
  return owners;
}

/** The owner most views name; a tie goes to the claim with the higher config epoch. */
function consensusOwners(perView: readonly Int32Array[], epochs: readonly number[]): Int32Array {
  const owners = new Int32Array(SLOT_COUNT).fill(-1);
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    const first = perView[0]?.[slot] ?? -1;
    let unanimous = true;
    for (let v = 1; v < perView.length && unanimous; v++) unanimous = perView[v]?.[slot] === first;
    if (unanimous) {
      owners[slot] = first;
      continue;
    }
    const tally = new Map<number, number>();
    for (const table of perView) tally.set(table[slot] ?? -1, (tally.get(table[slot] ?? -1) ?? 0) + 1);
    let best = -1;
    let bestVotes = -1;
    const epoch = (owner: number) => (owner < 0 ? -1 : (epochs[owner] ?? 0));
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

/** Views in the order people read addresses: 127.0.0.1:7002 before 127.0.0.1:7010. */
export const addressOrder = (a: NodeView, b: NodeView): number =>
  a.address.localeCompare(b.address, 'en', { numeric: true });

/** Builds the cluster's consensus from every node's own view. Pure. */
export function buildTopology(views: readonly NodeView[]): Topology {
  const viewsById = dedupeViews(views);
  const clusterViews = [...viewsById.values()];
  const largest = Math.max(0, ...clusterViews.map((v) => v.nodes?.length ?? 0));
  const loners = clusterViews.filter(
    (v) => largest > 1 && (v.nodes?.length ?? 0) <= Math.max(1, largest / 2 - 1),
  );
  const voters = clusterViews.filter((v) => !loners.includes(v));

  const epochOf = new Map<string, number>();
  for (const view of voters) {
    for (const node of view.nodes ?? [])
      epochOf.set(node.id, Math.max(epochOf.get(node.id) ?? 0, node.configEpoch));
  }

  const ids = new IdIndex();
  const perView = voters.map((v) => slotOwners(v, ids));
  const ownerIndex = consensusOwners(
    perView,
    ids.ids.map((id) => epochOf.get(id) ?? 0),
  );
  const owners = Array.from(ownerIndex, (i) => (i < 0 ? null : (ids.ids[i] ?? null)));

  const entriesById = groupBy(
    voters.flatMap((view) => view.nodes ?? []),
    (entry) => entry.id,
  );
  for (const view of loners) {
    const self = selfOf(view);
    if (self && !entriesById.has(self.id)) entriesById.set(self.id, []);
  }

  const listers = new Map<string, string[]>();
  for (const view of [...voters].sort(addressOrder)) {
    const viewer = selfOf(view)?.id;
    if (!viewer) continue;
    for (const entry of view.nodes ?? []) {
      if (entry.id === viewer) continue;
      const list = listers.get(entry.id);
      if (list) list.push(viewer);
      else listers.set(entry.id, [viewer]);
    }
  }

  const byAddress = new Map(views.map((v) => [v.address, v]));
  const nodes = new Map<string, TopologyNode>();
  for (const [id, entries] of entriesById) {
    const announced = mostCommon(entries.map((e) => e.address).filter((a) => a !== null)) ?? null;
    const view = viewsById.get(id) ?? (announced ? byAddress.get(announced) : undefined) ?? null;
    const self = view ? selfOf(view) : null;
    const others = entries.filter((e) => !e.myself);
    const failVotes = others.filter((e) => hasFlag(e, 'fail')).length;
    const failed = others.length > 0 && failVotes * 2 >= others.length;
    const suspected = !failed && entries.some((e) => hasFlag(e, 'fail?') || hasFlag(e, 'fail'));
    const source = self ?? others[0];
    const flags = self
      ? self.flags.filter((f) => f !== 'myself')
      : (mostCommon(others.map((e) => e.flags.join(',')))
          ?.split(',')
          .filter(Boolean) ?? []);
    nodes.set(id, {
      id,
      address: announced ?? view?.address ?? null,
      role: self?.role ?? mostCommon(others.map((e) => e.role)) ?? 'unknown',
      masterId: self ? self.masterId : (mostCommon(others.map((e) => e.masterId)) ?? null),
      configEpoch: source?.configEpoch ?? epochOf.get(id) ?? 0,
      flags,
      failed,
      suspected,
      handshake: entries.some((e) => hasFlag(e, 'handshake')),
      view,
      self,
      listedBy: others.length + (self && voters.includes(view as NodeView) ? 1 : 0),
      seenBy: others,
      listers: listers.get(id) ?? [],
    });
  }
  const ownedSlots = new Map<string, number[]>();
  owners.forEach((owner, slot) => {
    if (owner === null) return;
    const list = ownedSlots.get(owner);
    if (list) list.push(slot);
    else ownedSlots.set(owner, [slot]);
  });
  const ownersByVoter = new Map(voters.map((v, i) => [selfOf(v)?.id ?? v.address, perView[i] ?? ownerIndex]));
  return {
    nodes,
    owners,
    ownersByVoter,
    ownerIndex,
    ownerIds: ids.ids,
    ownedSlots,
    voters,
    loners,
    viewsById,
    replicasOf: groupBy(
      [...nodes.values()].filter((n) => n.masterId !== null),
      (n) => n.masterId ?? '',
    ),
  };
}

export interface ReplicaState {
  /** It finished a sync from its master at least once. */
  readonly synced: boolean;
  /** How long its link was down while its master still answered the cluster; null when it never came up. */
  readonly linkDownSeconds: number | null;
  /** Synced and not disconnected beyond Redis's replica validity: its keys stand for its master's. */
  readonly current: boolean;
}

/** How long the replica's own view has not heard from its master on the cluster bus, by its own clock. */
function masterSilentMs(node: TopologyNode): number | null {
  const nowUs = Number(node.view?.info?.server?.server_time_usec);
  const master = node.view?.nodes?.find((e) => e.id === node.masterId);
  if (!master || master.pongReceived <= 0 || !Number.isFinite(nowUs)) return null;
  return Math.max(0, nowUs / 1000 - master.pongReceived);
}

/** What a replica's own INFO says about its copy of the master's data; null for masters and unread nodes. */
export function replicaState(node: TopologyNode): ReplicaState | null {
  const info = node.view?.info;
  const link = node.role === 'replica' && info ? replicaLink(info) : null;
  if (!link) return null;
  // The link going down when the master died is no loss: only the time it was down before counts.
  const downMs =
    link.downSeconds === null ? null : Math.max(0, link.downSeconds * 1000 - (masterSilentMs(node) ?? 0));
  const nodeTimeoutMs = node.view?.config.nodeTimeoutMs ?? REPLICA_VALIDITY_DEFAULTS.nodeTimeoutMs;
  return {
    synced: link.synced,
    linkDownSeconds: downMs === null ? null : Math.round(downMs / 1000),
    current:
      link.synced &&
      downMs !== null &&
      !beyondReplicaValidity(downMs, { ...REPLICA_VALIDITY_DEFAULTS, nodeTimeoutMs }),
  };
}
