import { plural } from '../finding.js';
import type { NodeReport } from '../report.js';
import { countSlots, rangesFromSlots, type SlotRange, slotsIn } from '../slot-ranges.js';
import { balanceSlots } from './balance.js';
import { buildOption, short } from './option.js';
import { type PlanContext, rangesText } from './plan-context.js';
import type { RepairAction, RepairOption } from './types.js';

type Why = { action: RepairAction; why: string };

/** add-slots actions for keyless slots spread over the healthy masters with the fewest slots. */
function spread(
  ctx: PlanContext,
  slots: readonly number[],
  extra: ReadonlyMap<string, number> = new Map(),
): Why[] {
  const receivers = ctx
    .healthyMasters()
    .map((n) => ({ id: n.id, owned: ctx.slotCount(n.id) + (extra.get(n.id) ?? 0) }));
  return [...balanceSlots(slots, receivers)].map(([node, ranges]) => ({
    action: { type: 'add-slots', node, ranges },
    why: `${plural(countSlots(ranges), 'slot')} without keys in one contiguous share, to a master with few slots`,
  }));
}

/** Unassigned slots: slots with keys back to the node holding most of them, the rest in balanced ranges. */
export function planCoverUnassigned(ctx: PlanContext): RepairOption[] {
  const gaps = ctx.report.slots.gaps.filter((g) => g.reason === 'unassigned');
  if (gaps.length === 0 || ctx.healthyMasters().length === 0) return [];
  const healthy = new Set(ctx.healthyMasters().map((n) => n.id));
  const keyed = new Map<string, number[]>();
  const gathers: Why[] = [];
  const keyless: number[] = [];
  for (const slot of slotsIn(gaps.map((g) => [g.start, g.end] as SlotRange))) {
    const holders = ctx
      .holders(slot)
      .filter((h) => healthy.has(h.node))
      .sort((a, b) => b.keys - a.keys);
    const [first, ...others] = holders;
    if (!first) {
      keyless.push(slot);
      continue;
    }
    keyed.set(first.node, [...(keyed.get(first.node) ?? []), slot]);
    for (const other of others) {
      gathers.push({
        action: { type: 'adopt-keys', slot, holder: other.node, owner: first.node },
        why: `${plural(other.keys, 'key')} of slot ${slot} also sit on ${ctx.label(other.node)}: moved, never deleted`,
      });
    }
  }
  const giveBack: Why[] = [...keyed].map(([node, slots]) => ({
    action: { type: 'add-slots', node, ranges: rangesFromSlots(slots) },
    why: `it holds the keys of these slots`,
  }));
  const received = new Map([...keyed].map(([node, slots]) => [node, slots.length]));
  const spreadActions = spread(ctx, keyless, received);
  const merged = new Map<string, Why>();
  for (const item of [...giveBack, ...spreadActions]) {
    if (item.action.type !== 'add-slots') continue;
    const previous = merged.get(item.action.node);
    const ranges =
      previous?.action.type === 'add-slots'
        ? rangesFromSlots([...slotsIn(previous.action.ranges), ...slotsIn(item.action.ranges)])
        : item.action.ranges;
    merged.set(item.action.node, {
      action: { type: 'add-slots', node: item.action.node, ranges },
      why: previous ? `${previous.why}; and ${item.why}` : item.why,
    });
  }
  const total = countSlots(gaps.map((g) => [g.start, g.end] as SlotRange));
  const unknown = gaps.some((g) => g.keys === null);
  return [
    buildOption(ctx, {
      id: 'cover-unassigned',
      kind: 'cover-unassigned',
      title: `Assign ${plural(total, 'unassigned slot')} (${rangesText(gaps.map((g) => [g.start, g.end]))})`,
      explanation: `Nobody owns these slots, so the cluster refuses every command. Slots that still hold keys go back to the master that holds them (${keyed.size === 0 ? 'none do' : `${plural([...keyed.values()].flat().length, 'slot')} to ${keyed.size === 1 ? 'one master' : `${keyed.size} masters`}`}); the ${plural(keyless.length, 'slot')} without keys go in one contiguous range per master to the masters with the fewest slots, with one CLUSTER ADDSLOTSRANGE each.${gathers.length > 0 ? ' Keys of a slot found on several masters are gathered on the one with most keys by MIGRATE, after the slots are covered.' : ''}${unknown ? ' Some nodes could not be counted: keys they hold in these slots will show up as orphaned keys afterwards and can be adopted then.' : ''} Nothing is deleted.`,
      risk: 'safe',
      actions: [...merged.values(), ...gathers],
      expected: `all ${total} slots served; cluster_state:ok on every node`,
    }),
  ];
}

/** Offsets this close are the same data: the replication stream's PINGs, not writes. */
const OFFSET_SLACK_BYTES = 1024;

/** The highest replication offset its master is known to have reached: its own INFO, else its synced replicas'. */
function lastKnownOffset(
  ctx: PlanContext,
  master: string,
): { offset: number; from: 'master' | 'replicas' } | null {
  const own = ctx.report.nodes.find((n) => n.id === master)?.replicationOffset ?? null;
  const replicas = ctx.report.nodes
    .filter((n) => n.replicaOf === master && n.replicaSynced && n.replicationOffset !== null)
    .map((n) => n.replicationOffset ?? 0);
  if (own !== null) return { offset: Math.max(own, ...replicas), from: 'master' };
  return replicas.length > 0 ? { offset: Math.max(...replicas), from: 'replicas' } : null;
}

/** The offset a silent master last announced on the cluster bus, as its live replicas heard it; null if none. */
function lastAnnounced(ctx: PlanContext, master: string): number | null {
  return ctx.report.nodes.find((n) => n.id === master)?.lastKnownOffset ?? null;
}

/** Why promoting `replica` loses writes its master took, or null when its data is the master's. */
function lossReason(ctx: PlanContext, master: string, replica: NodeReport): string | null {
  const name = ctx.label(replica.id);
  const masterName = ctx.label(master);
  if (replica.replicaSynced === null || replica.replicaUpToDate === null)
    return `the replication state of ${name} could not be read, so nobody knows what it lacks`;
  if (!replica.replicaSynced)
    return `${name} never finished a sync from it (replication offset ${replica.replicationOffset ?? 'unknown'}): it holds none of the master's keys, and once the old master returns it becomes its replica and drops its own copy too`;
  if (replica.replicaLinkDownSeconds === null)
    return `nobody can tell whether the replication link of ${name} was up until ${masterName} went silent (no reachable node says when it last heard from the master), so writes may be missing`;
  if (!replica.replicaUpToDate)
    return `${name} lost its replication link ${replica.replicaLinkDownSeconds} s before ${masterName} went silent; writes in between are lost`;
  const known = lastKnownOffset(ctx, master);
  const offset = replica.replicationOffset;
  if (offset === null || known === null) return `the replication offset of ${name} is unknown`;
  const announced = lastAnnounced(ctx, master);
  if (announced !== null && announced - offset > OFFSET_SLACK_BYTES)
    return `${name} is ${announced - offset} bytes behind the last offset ${masterName} was known to have (${announced}); writes in between are lost`;
  if (known.offset - offset > OFFSET_SLACK_BYTES)
    return `${name} is ${known.offset - offset} bytes behind the ${known.from === 'master' ? "master's last known replication offset" : 'best offset of its replicas'} (${known.offset})`;
  return null;
}

/** How a safe failover was judged safe, and what it could not check. */
function safeBecause(ctx: PlanContext, master: string): string {
  const known = lastKnownOffset(ctx, master);
  const announced = lastAnnounced(ctx, master);
  const offsets =
    known?.from === 'master'
      ? `its replication offset is within ${OFFSET_SLACK_BYTES} bytes of the master's last known one (${known.offset})`
      : announced !== null
        ? `its replication offset is within ${OFFSET_SLACK_BYTES} bytes of the last offset the master was known to have (${announced}, as it last announced on the cluster bus) and no replica of the master has a higher one; writes in its last moments may not have been announced, so the link timing vouches for those`
        : `no replica of the master has a higher offset; the master's own last offset is not known to this probe (it is down), so the link timing vouches for the rest`;
  return `Its replication link stayed up until ${ctx.label(master)} went silent and ${offsets}. `;
}

/** A failed (or, without quorum, unreachable) master with a live replica: promote the best replica. */
export function planFailovers(ctx: PlanContext): RepairOption[] {
  const quorumLost = ctx.hasFinding('QUORUM_LOST');
  const owners = new Map<string, SlotRange[]>();
  for (const gap of ctx.report.slots.gaps) {
    if (gap.owner === null) continue;
    if (gap.reason === 'owner-unreachable' && !quorumLost) continue;
    owners.set(gap.owner, [...(owners.get(gap.owner) ?? []), [gap.start, gap.end]]);
  }
  return [...owners].flatMap(([master, ranges]) => {
    const candidates = ctx.liveReplicas(master);
    const best = candidates.find((r) => lossReason(ctx, master, r) === null) ?? candidates[0];
    if (!best) return [];
    const loses = lossReason(ctx, master, best);
    const mode = quorumLost ? 'TAKEOVER' : 'FORCE';
    const offset = best.replicationOffset ?? 'unknown';
    const how =
      mode === 'FORCE'
        ? `The master is down and its replica did not take over by itself. CLUSTER FAILOVER FORCE promotes ${ctx.label(best.id)} (the replica with the highest replication offset, ${offset}) with the votes of the other masters; it takes over ${rangesText(ranges)} with the data it has. Writes the old master accepted after offset ${offset} never reached the replica and are lost.`
        : `Too few masters are alive to vote, so FORCE cannot win an election. CLUSTER FAILOVER TAKEOVER makes ${ctx.label(best.id)} (replication offset ${offset}) master of ${rangesText(ranges)} without votes. If the old master is only cut off and still takes writes, those writes are lost when it returns and becomes a replica.`;
    const safe = mode === 'FORCE' && loses === null;
    const restartFirst = safe
      ? safeBecause(ctx, master)
      : `Restart ${ctx.label(master)} from its RDB/AOF first if it can come back: that loses nothing. ${loses ? `Promoting the replica loses data: ${loses}. ` : ''}`;
    return [
      buildOption(ctx, {
        id: `failover-${short(master)}`,
        kind: 'failover',
        title: `Fail over ${ctx.label(master)} to its replica ${ctx.label(best.id)}${loses ? ' (data loss)' : ''}`,
        explanation: `${restartFirst}${how}`,
        risk: safe ? 'safe' : 'data-loss',
        loss: safe
          ? null
          : {
              slots: ranges,
              keys: null,
              description: loses
                ? `keys of ${rangesText(ranges)} that ${ctx.label(best.id)} never received (how many is unknown: ${loses})`
                : `writes accepted by ${ctx.label(master)} after replication offset ${offset}, if it is still running`,
            },
        actions: [
          {
            action: { type: 'failover', node: best.id, master, mode, ranges },
            why: loses
              ? `the best live replica there is, and it lacks data: ${loses}`
              : `highest replication offset (${offset}) among the live replicas`,
          },
        ],
        expected: `${ctx.label(best.id)} is master of ${rangesText(ranges)} on every node`,
      }),
    ];
  });
}

/** A FAIL master without a live replica: forget it and give its slots away. Its data is lost. */
export function planTakeOvers(ctx: PlanContext): RepairOption[] {
  const owners = new Map<string, { ranges: SlotRange[]; keys: number | null }>();
  for (const gap of ctx.report.slots.gaps) {
    if (gap.reason !== 'owner-failed' || gap.owner === null) continue;
    const entry = owners.get(gap.owner) ?? { ranges: [], keys: 0 };
    entry.ranges.push([gap.start, gap.end]);
    entry.keys = entry.keys === null || gap.keys === null ? null : entry.keys + gap.keys;
    owners.set(gap.owner, entry);
  }
  return [...owners].flatMap(([master, { ranges, keys }]) => {
    if (ctx.liveReplicas(master).length > 0 || ctx.healthyMasters().length === 0) return [];
    const deadReplicas = ctx.report.nodes.filter((n) => n.replicaOf === master);
    const give = spread(ctx, [...slotsIn(ranges)]);
    const keysText =
      keys === null ? 'an unknown number of keys (no live node holds a copy)' : plural(keys, 'key');
    return [
      buildOption(ctx, {
        id: `take-over-${short(master)}`,
        kind: 'take-over-slots',
        title: `Give the ${plural(countSlots(ranges), 'slot')} of dead ${ctx.label(master)} to other masters (data loss)`,
        explanation: `${ctx.label(master)} is FAIL and no replica can take over. First try to restart it from its RDB/AOF: that loses nothing. If it cannot come back, this forgets it on every node (inside the 60 s ban), assigns its slots in balanced ranges to the masters with the fewest slots and bumps their config epochs so every node accepts the new owners. The slots come back empty: ${keysText} last seen there are lost.`,
        risk: 'data-loss',
        loss: { slots: ranges, keys, description: `every key in ${rangesText(ranges)} (${keysText})` },
        actions: [
          ...[master, ...deadReplicas.map((r) => r.id)].map((target) => ({
            action: { type: 'forget', target } as const,
            why:
              target === master
                ? 'drop the dead owner everywhere, so its slots become free'
                : 'its dead replica goes with it',
          })),
          ...give,
          ...give.map(({ action }) => ({
            action: { type: 'bump-epoch', node: action.type === 'add-slots' ? action.node : '' } as const,
            why: 'a higher config epoch makes every node accept the new owner',
          })),
        ],
        expected: `${rangesText(ranges)} served again, empty; cluster_state:ok`,
      }),
    ];
  });
}
