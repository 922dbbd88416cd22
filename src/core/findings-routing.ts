import { groupBy } from './collections.js';
import { type AnalysisContext, finding, plural } from './finding.js';
import { nodeLabel } from './node-label.js';
import type { Finding } from './report.js';
import type { RouteProblem } from './routing.js';
import { formatRanges, rangesFromSlots } from './slot-ranges.js';

/** Problems that still stood when the slot was looked at a second time. */
const settled = (ctx: AnalysisContext): RouteProblem[] =>
  ctx.routing.problems.filter((p) => !ctx.moving.has(p.slot));

/** A plain orphan: keys on a master in a slot every node agrees belongs to another, nothing open. */
const isOrphan = (ctx: AnalysisContext, p: RouteProblem): boolean =>
  p.kind === 'hidden' &&
  p.holder !== null &&
  !ctx.routing.open.has(p.slot) &&
  !ctx.routing.disputed.has(p.slot);

export function keysOrphaned(ctx: AnalysisContext): Finding[] {
  const byHolder = groupBy(
    settled(ctx).filter((p) => isOrphan(ctx, p)),
    (p) => p.holder ?? '',
  );
  return [...byHolder].map(([holder, problems]) => {
    const keys = problems.reduce((total, p) => total + p.keys, 0);
    const ranges = rangesFromSlots(problems.map((p) => p.slot));
    const owners = [...new Set(problems.map((p) => ctx.topology.owners[p.slot] ?? ''))].filter(Boolean);
    return finding(
      'KEYS_ORPHANED',
      'error',
      `${nodeLabel(ctx.topology, holder)} holds ${plural(keys, 'key')} in ${plural(problems.length, 'slot')} it does not own (${formatRanges(ranges, 8)}): clients are sent to the owner and read nil.`,
      {
        nodes: [holder, ...owners],
        slots: ranges,
        next: `Hand the keys to the slot owner (SETSLOT IMPORTING on the holder toward the owner, then MIGRATE); never delete them: \`slotwatch plan ${ctx.seeds}\`.`,
        details: owners.map((owner) => `owner of some of these slots: ${nodeLabel(ctx.topology, owner)}`),
      },
    );
  });
}

function describePath(ctx: AnalysisContext, path: readonly string[]): string {
  return path.map((id) => nodeLabel(ctx.topology, id)).join(' → ');
}

/** One line per kind of failure: the same nodes failing the same way share a line and a slot list. */
function detailLines(ctx: AnalysisContext, problems: readonly RouteProblem[]): string[] {
  const groups = groupBy(problems, (p) => `${p.kind}|${p.holder ?? '-'}|${p.path.join('>')}`);
  return [...groups.values()].map((group) => {
    const [first] = group as [RouteProblem];
    const slots = `slot${group.length === 1 ? '' : 's'} ${formatRanges(rangesFromSlots(group.map((p) => p.slot)), 6)}`;
    const keys = group.reduce((total, p) => total + p.keys, 0);
    const holder = first.holder === null ? null : nodeLabel(ctx.topology, first.holder);
    if (first.kind === 'loop') {
      return `${slots}: clients are sent round in a loop (${describePath(ctx, first.path)}); ${holder === null ? 'no new key can be written' : `${plural(keys, 'key')} on ${holder} cannot be read`}`;
    }
    const end = first.path.at(-1) ?? null;
    return `${slots}: ${plural(keys, 'key')} sit on ${holder}, but clients end at ${nodeLabel(ctx.topology, end)} (${describePath(ctx, first.path)}) and read nil`;
  });
}

export function slotsUnroutable(ctx: AnalysisContext): Finding[] {
  const problems = settled(ctx).filter((p) => !isOrphan(ctx, p));
  if (problems.length === 0) return [];
  const slots = [...new Set(problems.map((p) => p.slot))];
  const ranges = rangesFromSlots(slots);
  const unreadable = problems.filter((p) => p.holder !== null).reduce((total, p) => total + p.keys, 0);
  const nodes = [...new Set(problems.flatMap((p) => [...(p.holder ? [p.holder] : []), ...p.path]))];
  return [
    finding(
      'SLOTS_UNROUTABLE',
      'error',
      `${plural(slots.length, 'slot')} (${formatRanges(ranges, 8)}) cannot be served: the nodes' own views send clients in circles or away from the keys; ${plural(unreadable, 'key')} cannot be read.`,
      {
        nodes,
        slots: ranges,
        next: `Settle each slot on one owner: move its keys there, then CLUSTER SETSLOT <slot> NODE <owner> on every master; never SETSLOT STABLE on a node that still holds keys: \`slotwatch plan ${ctx.seeds}\`.`,
        details: detailLines(ctx, problems),
      },
    ),
  ];
}
