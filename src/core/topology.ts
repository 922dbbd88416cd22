import { type ClusterNodeEntry, hasFlag } from './cluster-nodes.js';
import { groupBy } from './collections.js';
import { DEFAULT_NODE_TIMEOUT_MS, linkSlackMs, replicaLink } from './info.js';
import { consensusOwners, IdIndex, OwnerTables } from './owner-tables.js';
import type { NodeView } from './probe.js';
import { runSteps, runStepsSliced, type Steps, type TimeSlicer } from './time-slices.js';

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
  /** For a replica: how long ago any voting view last heard its master on the cluster bus; null when none tells. */
  readonly masterSilentMs: number | null;
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

const selves = new WeakMap<readonly ClusterNodeEntry[], ClusterNodeEntry | null>();

/** The view's own `myself` line (looked up once per view). */
export function selfOf(view: NodeView): ClusterNodeEntry | null {
  const nodes = view.nodes;
  if (!nodes) return null;
  let self = selves.get(nodes);
  if (self === undefined) {
    self = nodes.find((n) => n.myself) ?? null;
    selves.set(nodes, self);
  }
  return self;
}

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
function* dedupeViews(views: readonly NodeView[]): Steps<Map<string, NodeView>> {
  const announced = new Set<string | null>();
  for (const view of views) {
    for (const node of view.nodes ?? []) announced.add(node.address);
    yield;
  }
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

const isDigitCode = (code: number): boolean => code >= 48 && code <= 57;

/** End of the run of digits starting at `from`. */
function digitsEnd(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDigitCode(text.charCodeAt(end))) end++;
  return end;
}

/**
 * Addresses in the order people read them: 127.0.0.1:7002 before 127.0.0.1:7010, runs of digits compared as
 * numbers, the rest case-insensitively. (An Intl.Collator did the same but cost every CLI run 13 ms to build.)
 */
export function compareAddresses(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigitCode(ca) && isDigitCode(cb)) {
      const endA = digitsEnd(a, i);
      const endB = digitsEnd(b, j);
      let startA = i;
      let startB = j;
      while (startA < endA - 1 && a.charCodeAt(startA) === 48) startA++;
      while (startB < endB - 1 && b.charCodeAt(startB) === 48) startB++;
      const byLength = endA - startA - (endB - startB);
      if (byLength !== 0) return byLength;
      for (let k = 0; k < endA - startA; k++) {
        const d = a.charCodeAt(startA + k) - b.charCodeAt(startB + k);
        if (d !== 0) return d;
      }
      i = endA;
      j = endB;
      continue;
    }
    const la = ca >= 65 && ca <= 90 ? ca + 32 : ca;
    const lb = cb >= 65 && cb <= 90 ? cb + 32 : cb;
    if (la !== lb) return la - lb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

/** Views in address order. */
export const addressOrder = (a: NodeView, b: NodeView): number => compareAddresses(a.address, b.address);

/** Every line the voters have about each node, and which other voters list it (in address order). */
function* linesById(voters: readonly NodeView[]): Steps<{
  entriesById: Map<string, ClusterNodeEntry[]>;
  listers: Map<string, string[]>;
}> {
  const entriesById = new Map<string, ClusterNodeEntry[]>();
  for (const view of voters) {
    for (const entry of view.nodes ?? []) {
      const group = entriesById.get(entry.id);
      if (group) group.push(entry);
      else entriesById.set(entry.id, [entry]);
    }
    yield;
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
    yield;
  }
  return { entriesById, listers };
}

interface NodeContext {
  readonly viewsById: ReadonlyMap<string, NodeView>;
  readonly byAddress: ReadonlyMap<string, NodeView>;
  readonly voterSet: ReadonlySet<NodeView>;
  readonly epochOf: ReadonlyMap<string, number>;
  readonly listers: ReadonlyMap<string, string[]>;
  readonly silentMs: ReadonlyMap<string, number>;
}

/** One node as the cluster sees it: its own view where we have it, else what most others say. */
function topologyNode(id: string, entries: readonly ClusterNodeEntry[], ctx: NodeContext): TopologyNode {
  const announced = mostCommon(entries.map((e) => e.address).filter((a) => a !== null)) ?? null;
  const view = ctx.viewsById.get(id) ?? (announced ? ctx.byAddress.get(announced) : undefined) ?? null;
  const self = view ? selfOf(view) : null;
  const others = entries.filter((e) => !e.myself);
  let failVotes = 0;
  let flagged = false;
  let handshake = false;
  for (const e of entries) {
    const fail = hasFlag(e, 'fail');
    if (fail && !e.myself) failVotes++;
    flagged ||= fail || hasFlag(e, 'fail?');
    handshake ||= hasFlag(e, 'handshake');
  }
  const failed = others.length > 0 && failVotes * 2 >= others.length;
  const source = self ?? others[0];
  const flags = self
    ? self.flags.filter((f) => f !== 'myself')
    : (mostCommon(others.map((e) => e.flags.join(',')))
        ?.split(',')
        .filter(Boolean) ?? []);
  const masterId = self ? self.masterId : (mostCommon(others.map((e) => e.masterId)) ?? null);
  return {
    id,
    address: announced ?? view?.address ?? null,
    role: self?.role ?? mostCommon(others.map((e) => e.role)) ?? 'unknown',
    masterId,
    configEpoch: source?.configEpoch ?? ctx.epochOf.get(id) ?? 0,
    flags,
    failed,
    suspected: !failed && flagged,
    handshake,
    view,
    self,
    listedBy: others.length + (self && view && ctx.voterSet.has(view) ? 1 : 0),
    seenBy: others,
    listers: ctx.listers.get(id) ?? [],
    masterSilentMs: masterId === null ? null : (ctx.silentMs.get(masterId) ?? null),
  };
}

/**
 * How long ago each node was last heard on the cluster bus (its pong_recv), each view by its own clock: the
 * shortest silence any voting view reports. Nodes no view has heard from are missing.
 */
function silences(voters: readonly NodeView[]): Map<string, number> {
  const silent = new Map<string, number>();
  for (const view of voters) {
    const nowMs = Number(view.info?.server?.server_time_usec) / 1000;
    if (!Number.isFinite(nowMs) || nowMs <= 0) continue;
    for (const entry of view.nodes ?? []) {
      if (entry.myself || entry.pongReceived <= 0) continue;
      const ms = Math.max(0, nowMs - entry.pongReceived);
      silent.set(entry.id, Math.min(silent.get(entry.id) ?? ms, ms));
    }
  }
  return silent;
}

/** Builds the cluster's consensus from every node's own view. Pure. */
export function buildTopology(views: readonly NodeView[]): Topology {
  return runSteps(topologySteps(views));
}

/** buildTopology in time slices: lets the event loop run between views and nodes of a large cluster. */
export function buildTopologySliced(views: readonly NodeView[], slicer: TimeSlicer): Promise<Topology> {
  return runStepsSliced(topologySteps(views), slicer);
}

function* topologySteps(views: readonly NodeView[]): Steps<Topology> {
  const viewsById = yield* dedupeViews(views);
  const clusterViews = [...viewsById.values()];
  const largest = Math.max(0, ...clusterViews.map((v) => v.nodes?.length ?? 0));
  const loners = clusterViews.filter(
    (v) => largest > 1 && (v.nodes?.length ?? 0) <= Math.max(1, largest / 2 - 1),
  );
  const lonerSet = new Set(loners);
  const voters = clusterViews.filter((v) => !lonerSet.has(v));

  const epochOf = new Map<string, number>();
  for (const view of voters) {
    for (const node of view.nodes ?? [])
      epochOf.set(node.id, Math.max(epochOf.get(node.id) ?? 0, node.configEpoch));
    yield;
  }

  const ids = new IdIndex();
  const tables = new OwnerTables(ids);
  const perView: Int32Array[] = [];
  for (const view of voters) {
    perView.push(tables.of(view.nodes ?? []));
    yield;
  }
  const ownerIndex = consensusOwners(
    tables.distinct,
    ids.ids.map((id) => epochOf.get(id) ?? 0),
  );
  const owners: (string | null)[] = new Array(ownerIndex.length);
  const slotsByOwner: number[][] = ids.ids.map(() => []);
  for (let slot = 0; slot < ownerIndex.length; slot++) {
    const owner = ownerIndex[slot] ?? -1;
    owners[slot] = owner < 0 ? null : (ids.ids[owner] ?? null);
    if (owner >= 0) slotsByOwner[owner]?.push(slot);
  }

  yield;
  const { entriesById, listers } = yield* linesById(voters);
  for (const view of loners) {
    const self = selfOf(view);
    if (self && !entriesById.has(self.id)) entriesById.set(self.id, []);
  }

  const ctx: NodeContext = {
    viewsById,
    byAddress: new Map(views.map((v) => [v.address, v])),
    voterSet: new Set(voters),
    epochOf,
    listers,
    silentMs: silences(voters),
  };
  const nodes = new Map<string, TopologyNode>();
  for (const [id, entries] of entriesById) {
    nodes.set(id, topologyNode(id, entries, ctx));
    yield;
  }
  const ownedSlots = new Map<string, number[]>();
  slotsByOwner.forEach((slots, owner) => {
    if (slots.length > 0) ownedSlots.set(ids.ids[owner] ?? '', slots);
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
  /**
   * How long before its master went silent its link went down (0: up until then); null when the link never
   * came up, or when no view tells when the master was last heard.
   */
  readonly linkDownSeconds: number | null;
  /** Synced, and its link up until its master went silent (within `linkSlackMs`): its keys are its master's. */
  readonly current: boolean;
}

/** What a replica's own INFO says about its copy of the master's data; null for masters and unread nodes. */
export function replicaState(node: TopologyNode): ReplicaState | null {
  const info = node.view?.info;
  const link = node.role === 'replica' && info ? replicaLink(info) : null;
  if (!link) return null;
  const slackMs = linkSlackMs(node.view?.config.nodeTimeoutMs ?? DEFAULT_NODE_TIMEOUT_MS);
  const downMs = link.downSeconds === null ? null : link.downSeconds * 1000;
  // The link going down when the master went silent loses nothing: only how much earlier it went down counts.
  const earlyMs =
    downMs === null
      ? null
      : downMs <= slackMs
        ? 0
        : node.masterSilentMs === null
          ? null
          : Math.max(0, downMs - node.masterSilentMs);
  return {
    synced: link.synced,
    linkDownSeconds: earlyMs === null ? null : Math.round(earlyMs / 1000),
    current: link.synced && earlyMs !== null && earlyMs <= slackMs,
  };
}
