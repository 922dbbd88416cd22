import { type AnalysisContext, finding } from './finding.js';
import {
  masterNoReplica,
  nodeFailed,
  nodeForgettable,
  nodeHandshake,
  nodeIsolated,
  nodeUnreachable,
  quorumLost,
} from './findings-nodes.js';
import { limitExceeded, replyUnparseable } from './findings-replies.js';
import { keysOrphaned, slotsUnroutable } from './findings-routing.js';
import {
  clusterDown,
  fullCoverageDisabled,
  slotsOpen,
  slotsOwnerFailed,
  slotsUnassigned,
} from './findings-slots.js';
import { findGaps } from './gaps.js';
import { keyspaceKeys } from './info.js';
import type { KeyCounts } from './key-counts.js';
import { findOpenSlots } from './open-slots.js';
import type { Discovery, NodeView } from './probe.js';
import type { Finding, NodeReport, Report, Severity } from './report.js';
import { analyzeRouting, type SlotRouting } from './routing.js';
import { countSlots, rangesFromSlots, SLOT_COUNT } from './slot-ranges.js';
import { runSteps, runStepsSliced, type Steps, type TimeSlicer } from './time-slices.js';
import { compareAddresses, replicaState, type Topology, type TopologyNode } from './topology.js';
import { type Disagreement, viewsDisagree } from './views-disagree.js';

export interface AnalysisInput {
  readonly seeds: readonly string[];
  readonly views: readonly NodeView[];
  readonly topology: Topology;
  readonly counts: KeyCounts;
  /** Where clients really end up for the slots that could be misrouted (computed when absent). */
  readonly routing?: SlotRouting;
  /** Slots that changed between two looks (a live resharding, gossip spreading); none when absent. */
  readonly moving?: ReadonlySet<number>;
  /** Disagreements seen in two reads a moment apart (gossip still spreading is not one). */
  readonly disagreements: readonly Disagreement[];
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Addresses the probe left undialed (node limit). */
  readonly discovery?: Discovery;
}

/** Exit code 1 territory: at least one finding of severity error. */
export const hasErrors = (report: Pick<Report, 'findings'>): boolean =>
  report.findings.some((f) => f.severity === 'error');

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

function seenAs(node: TopologyNode): NodeReport['othersSee'] {
  const [first] = node.seenBy;
  if (!first) return null;
  const agree = node.seenBy.filter((e) => e.role === first.role && e.masterId === first.masterId);
  return agree.length * 2 >= node.seenBy.length ? { role: first.role, replicaOf: first.masterId } : null;
}

function nodeReport(node: TopologyNode, topology: Topology, counts: KeyCounts): NodeReport {
  const view = node.view;
  const replication = view?.info?.replication ?? {};
  const offset = node.role === 'replica' ? replication.slave_repl_offset : replication.master_repl_offset;
  const othersSee = node.seenBy.map((e) => e.linkState);
  const owned = topology.ownedSlots.get(node.id) ?? [];
  const unreadable = view?.parseErrors[0];
  const replica = replicaState(node);
  return {
    id: node.id,
    address: node.address,
    role: node.role,
    flags: [...node.flags],
    reachable: view?.reachable ?? false,
    error:
      view?.error?.message ??
      (unreadable ? `reply unparseable: ${unreadable.message}` : view ? null : 'not probed'),
    slots: rangesFromSlots(owned).map(([s, e]) => [s, e]),
    replicaOf: node.masterId,
    othersSee: seenAs(node),
    configEpoch: node.configEpoch,
    linkState:
      othersSee.length === 0 ? null : othersSee.includes('disconnected') ? 'disconnected' : 'connected',
    clusterState: view?.clusterInfo?.state ?? null,
    knownNodes: view?.clusterInfo?.knownNodes ?? null,
    version: view?.info?.server?.redis_version ?? null,
    replicationOffset: offset === undefined ? null : Number(offset),
    replicaLinkUp: node.role === 'replica' && view?.info ? replication.master_link_status === 'up' : null,
    replicaSynced: replica?.synced ?? null,
    replicaLinkDownSeconds: replica?.linkDownSeconds ?? null,
    replicaUpToDate: replica?.current ?? null,
    listedBy: [...node.listers],
    dbsize: counts.dbsize.get(node.id) ?? (view?.info ? keyspaceKeys(view.info) : null),
    latencyMs: view?.reachable ? view.latencyMs : null,
  };
}

function notCluster(views: readonly NodeView[]): Finding[] {
  return views
    .filter((v) => v.notCluster)
    .map((v) =>
      finding(
        'NOT_CLUSTER',
        'error',
        `${v.address} is a standalone Redis: cluster support is disabled there.`,
        {
          nodes: [v.address],
          next: 'Point Slotwatch at a cluster node, or, if this should be a cluster, set cluster-enabled yes and create one; clients in cluster mode cannot talk to it.',
        },
      ),
    );
}

/** Seeds and addresses we dialed that answered nothing and that no reachable node lists. */
function strangers(views: readonly NodeView[], topology: Topology): Finding[] {
  const listed = new Set([...topology.nodes.values()].map((n) => n.address));
  return views
    .filter((v) => !v.reachable && !listed.has(v.address) && v.error?.code !== 'limit')
    .map((v) =>
      finding(
        'NODE_UNREACHABLE',
        'warning',
        `${v.address} did not answer: ${v.error?.message ?? 'unknown error'}.`,
        {
          nodes: [v.address],
          next: 'Check the address; no reachable node of the cluster lists it.',
        },
      ),
    );
}

/** Turns every node's view into one Report. Pure. */
export function analyze(input: AnalysisInput): Report {
  return runSteps(analysisSteps(input));
}

/** analyze in time slices: lets the event loop run between the findings and nodes of a large cluster. */
export function analyzeSliced(input: AnalysisInput, slicer: TimeSlicer): Promise<Report> {
  return runStepsSliced(analysisSteps(input), slicer);
}

function* analysisSteps(input: AnalysisInput): Steps<Report> {
  const { topology, counts } = input;
  const gaps = findGaps(topology, counts);
  const moving = input.moving ?? new Set<number>();
  yield;
  const routing = input.routing ?? analyzeRouting(topology, counts);
  yield;
  const openSlots = findOpenSlots(topology, counts, moving);
  const ctx: AnalysisContext = {
    topology,
    counts,
    gaps,
    openSlots,
    routing,
    moving,
    seeds: input.seeds.join(','),
  };
  const groups: (() => Finding[])[] = [
    () => notCluster(input.views),
    () => replyUnparseable(input.views),
    () => limitExceeded(input.views, input.discovery),
    () => clusterDown(ctx),
    () => slotsUnassigned(ctx),
    () => slotsOwnerFailed(ctx),
    () => quorumLost(ctx),
    () => keysOrphaned(ctx),
    () => slotsUnroutable(ctx),
    () => slotsOpen(ctx),
    () => nodeFailed(ctx),
    () => nodeUnreachable(ctx),
    () => strangers(input.views, topology),
    () => nodeIsolated(ctx),
    () => nodeHandshake(ctx),
    () => nodeForgettable(ctx),
    () => viewsDisagree(ctx, input.disagreements),
    () => masterNoReplica(ctx),
    () => fullCoverageDisabled(ctx),
  ];
  const findings: Finding[] = [];
  for (const group of groups) {
    yield;
    findings.push(...group());
  }
  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);

  const uncovered = countSlots(gaps.map((g) => [g.start, g.end] as const));
  const anyDown = [...topology.nodes.values()].some((n) => n.view?.clusterInfo?.state === 'fail');
  const keyCounts = [...counts.bySlot].flatMap(([node, slots]) =>
    [...slots].filter(([slot]) => matters(slot, node, ctx)).map(([slot, keys]) => ({ node, slot, keys })),
  );
  const [firstCounted, ...otherCounted] = counts.counted.values();
  const countedEverywhere = firstCounted ? firstCounted.intersect(otherCounted) : [];
  const nodes: NodeReport[] = [];
  for (const node of topology.nodes.values()) {
    nodes.push(nodeReport(node, topology, counts));
    yield;
  }
  nodes.sort((a, b) => compareAddresses(a.address ?? '', b.address ?? ''));
  return {
    // Never ok while any error stands: an unreadable view, an unroutable slot or a node down all count.
    state: anyDown || uncovered > 0 || findings.some((f) => f.severity === 'error') ? 'fail' : 'ok',
    probedAt: new Date(input.startedAt).toISOString(),
    durationMs: input.finishedAt - input.startedAt,
    seeds: [...input.seeds],
    slots: { covered: topology.voters.length === 0 ? 0 : SLOT_COUNT - uncovered, uncovered, gaps },
    openSlots,
    movingSlots: rangesFromSlots(moving).map(([s, e]) => [s, e]),
    slotClaims: [...routing.claims]
      .filter(([slot]) => !moving.has(slot))
      .map(([slot, nodes]) => ({ slot, nodes: [...nodes] }))
      .sort((a, b) => a.slot - b.slot),
    nodes,
    findings,
    config: input.views.filter((v) => v.reachable).map((v) => ({ address: v.address, ...v.config })),
    keyCounts,
    countedSlots: rangesFromSlots(countedEverywhere).map(([s, e]) => [s, e]),
    currentEpoch: currentEpoch(topology),
  };
}

/** Key counts worth carrying in the report: slots that are uncovered, open, or held by a node that does not own them. */
function matters(slot: number, holder: string, ctx: AnalysisContext): boolean {
  const owner = ctx.topology.owners[slot] ?? null;
  if (owner !== holder) return true;
  const node = ctx.topology.nodes.get(owner);
  return !node || node.failed || !node.view?.reachable || ctx.openSlots.some((o) => o.slot === slot);
}

function currentEpoch(topology: Topology): number | null {
  const epochs = topology.voters.flatMap((v) => (v.clusterInfo ? [v.clusterInfo.currentEpoch] : []));
  return epochs.length === 0 ? null : Math.max(...epochs);
}
