import { groupBy } from './collections.js';
import { type AnalysisContext, finding, keysText, plural } from './finding.js';
import { nodeLabel } from './node-label.js';
import type { Finding, Gap } from './report.js';
import { countSlots, formatRanges, rangesFromSlots, type SlotRange } from './slot-ranges.js';
import { replicaState } from './topology.js';

const lossText = (keys: number | null): string =>
  keys === null
    ? 'whatever it held is lost: no live node could count its keys'
    : `loses ${plural(keys, 'key')}`;

const rangesOf = (gaps: readonly Gap[]): SlotRange[] => gaps.map((g) => [g.start, g.end] as const);

const sumKeys = (gaps: readonly Gap[]): number | null =>
  gaps.some((g) => g.keys === null) && gaps.every((g) => !g.keys)
    ? null
    : gaps.reduce((total, g) => total + (g.keys ?? 0), 0);

export function clusterDown(ctx: AnalysisContext): Finding[] {
  const reporting = [...ctx.topology.nodes.values()].filter((n) => n.view?.clusterInfo);
  const down = reporting.filter((n) => n.view?.clusterInfo?.state === 'fail');
  if (down.length === 0) return [];
  const label = (ids: readonly string[]) => ids.map((id) => nodeLabel(ctx.topology, id)).join(', ');
  const cause =
    ctx.gaps.length > 0
      ? `${plural(countSlots(rangesOf(ctx.gaps)), 'slot')} ${countSlots(rangesOf(ctx.gaps)) === 1 ? 'has' : 'have'} no live owner`
      : 'no slot is uncovered, so the nodes lost their majority or are still converging';
  return [
    finding(
      'CLUSTER_DOWN',
      'error',
      `CLUSTERDOWN: ${down.length} of ${reporting.length} reachable nodes report cluster_state:fail; ${cause}.`,
      {
        nodes: down.map((n) => n.id),
        next: 'Clients get "CLUSTERDOWN The cluster is down" until every slot has a live owner: fix the gaps below first.',
        details: [`fail: ${label(down.map((n) => n.id))}`],
      },
    ),
  ];
}

export function slotsUnassigned(ctx: AnalysisContext): Finding[] {
  const gaps = ctx.gaps.filter((g) => g.reason === 'unassigned');
  if (gaps.length === 0) return [];
  const slots = countSlots(rangesOf(gaps));
  const holders = [...ctx.counts.bySlot.entries()]
    .map(([id, counts]) => ({
      id,
      keys: gaps.reduce((total, g) => {
        for (let s = g.start; s <= g.end; s++) total += counts.get(s) ?? 0;
        return total;
      }, 0),
    }))
    .filter((h) => h.keys > 0 && ctx.topology.nodes.get(h.id)?.role === 'master');
  return [
    finding(
      'SLOTS_UNASSIGNED',
      'error',
      `${plural(slots, 'slot')} (${formatRanges(rangesOf(gaps), 8)}) ${slots === 1 ? 'has' : 'have'} no owner; ${keysText(sumKeys(gaps))} last seen there.`,
      {
        nodes: holders.map((h) => h.id),
        slots: rangesOf(gaps),
        next:
          holders.length > 0
            ? `Give the slots with keys back to the node that holds them, the rest in balanced ranges: \`slotwatch plan ${ctx.seeds}\`.`
            : `Assign the slots in balanced ranges (CLUSTER ADDSLOTSRANGE): \`slotwatch plan ${ctx.seeds}\`.`,
        details: holders.map(
          (h) => `${nodeLabel(ctx.topology, h.id)} still holds ${plural(h.keys, 'key')} of these slots`,
        ),
      },
    ),
  ];
}

export function slotsOwnerFailed(ctx: AnalysisContext): Finding[] {
  const byOwner = groupBy(
    ctx.gaps.filter((g) => g.reason === 'owner-failed'),
    (g) => g.owner ?? '',
  );
  return [...byOwner].map(([owner, gaps]) => {
    const replicas = [...ctx.topology.nodes.values()].filter((n) => n.masterId === owner);
    const live = replicas.filter((r) => !r.failed && r.view?.reachable);
    const current = live.filter((r) => replicaState(r)?.current === true);
    const next =
      current.length > 0
        ? `Fail over to a replica: CLUSTER FAILOVER FORCE on ${nodeLabel(ctx.topology, current[0]?.id ?? null)} (\`slotwatch plan ${ctx.seeds}\` picks the best one).`
        : live.length > 0
          ? `Restart ${nodeLabel(ctx.topology, owner)} from its RDB/AOF first: its live replica never synced or fell behind, so promoting it loses data (\`slotwatch plan ${ctx.seeds}\` says how much).`
          : `Restart ${nodeLabel(ctx.topology, owner)} from its RDB/AOF if at all possible; only if it cannot come back, re-assign its slots (${lossText(sumKeys(gaps))}).`;
    return finding(
      'SLOTS_OWNER_FAILED',
      'error',
      `${plural(countSlots(rangesOf(gaps)), 'slot')} (${formatRanges(rangesOf(gaps), 8)}) belong to ${nodeLabel(ctx.topology, owner)}, which is FAIL; ${live.length > 0 ? `${plural(live.length, 'live replica')} did not take over yet` : 'no live replica can take over'}.`,
      {
        nodes: [owner, ...replicas.map((r) => r.id)],
        slots: rangesOf(gaps),
        next,
        details: [
          `keys last seen: ${sumKeys(gaps) ?? 'unknown (no live node holds a copy)'}`,
          ...replicas.map(
            (r) =>
              `replica ${nodeLabel(ctx.topology, r.id)}: ${r.failed ? 'FAIL' : r.view?.reachable ? 'reachable' : 'unreachable'}`,
          ),
        ],
      },
    );
  });
}

export function slotsOpen(ctx: AnalysisContext): Finding[] {
  if (ctx.openSlots.length === 0 && ctx.moving.size === 0) return [];
  const live = ctx.openSlots.filter((o) => o.live);
  const moving = rangesFromSlots(ctx.moving);
  const stuck = ctx.openSlots.filter((o) => !o.live);
  const onReplicas = stuck.filter((o) => o.nodeRole === 'replica');
  const label = (id: string) => nodeLabel(ctx.topology, id);
  const describe = (o: (typeof ctx.openSlots)[number]) =>
    `slot ${o.slot}: ${o.state} on ${label(o.node)}${o.nodeRole === 'replica' ? ' (a replica: stale state)' : ''} ${o.state === 'migrating' ? 'to' : 'from'} ${label(o.peer)}; keys ${o.nodeKeys ?? '?'} here, ${o.peerKeys ?? '?'} there${o.live ? '; still moving' : ''}`;
  const findings: Finding[] = [];
  if (stuck.length > 0) {
    findings.push(
      finding(
        'SLOTS_OPEN',
        'warning',
        `${plural(new Set(stuck.map((o) => o.slot)).size, 'slot')} (${formatRanges(rangesFromSlots(stuck.map((o) => o.slot)), 8)}) ${new Set(stuck.map((o) => o.slot)).size === 1 ? 'is' : 'are'} stuck half-migrated${onReplicas.length > 0 ? `, ${plural(onReplicas.length, 'entry', 'entries')} on replicas` : ''}; their keys answer with ASK redirects.`,
        {
          nodes: [...new Set(stuck.flatMap((o) => [o.node, o.peer]))],
          slots: rangesFromSlots(stuck.map((o) => o.slot)),
          next: `Finish the migration (move the remaining keys, then SETSLOT NODE everywhere), never SETSLOT STABLE on the target: \`slotwatch plan ${ctx.seeds}\`.`,
          details: stuck.map(describe),
        },
      ),
    );
  }
  if (moving.length > 0) {
    findings.push(
      finding(
        'SLOTS_OPEN',
        'info',
        `A resharding is in progress: ${plural(ctx.moving.size, 'slot')} (${formatRanges(moving, 8)}) changed owner, open state or keys between two looks a moment apart.`,
        {
          nodes: [...new Set(live.flatMap((o) => [o.node, o.peer]))],
          slots: moving,
          next: 'Nothing is repaired while keys are moving: wait until the resharding ends (no open slot in CLUSTER NODES), then check again.',
          details: live.map(describe),
        },
      ),
    );
  }
  return findings;
}

export function fullCoverageDisabled(ctx: AnalysisContext): Finding[] {
  const off = [...ctx.topology.nodes.values()].filter((n) => n.view?.config.requireFullCoverage === false);
  if (off.length === 0) return [];
  const uncovered = countSlots(rangesOf(ctx.gaps));
  return [
    finding(
      'FULL_COVERAGE_DISABLED',
      uncovered > 0 ? 'warning' : 'info',
      `cluster-require-full-coverage is "no" on ${plural(off.length, 'node')}: ${uncovered > 0 ? `the ${plural(uncovered, 'uncovered slot')} ${uncovered === 1 ? 'answers' : 'answer'} "CLUSTERDOWN Hash slot not served" while the rest keep working` : 'a lost slot will not stop the other slots'}.`,
      {
        nodes: off.map((n) => n.id),
        next:
          uncovered > 0
            ? 'The cluster looks up but part of the keyspace is gone: cover the gaps, then set it back to yes.'
            : 'Fine as a deliberate choice; make sure alerts watch slot coverage, since clients will not see CLUSTERDOWN.',
      },
    ),
  ];
}
