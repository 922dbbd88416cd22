import { groupBy } from '../collections.js';
import { plural } from '../finding.js';
import type { OpenSlot } from '../report.js';
import { rangesFromSlots, slotsIn } from '../slot-ranges.js';
import { buildOption } from './option.js';
import { type PlanContext, rangesText } from './plan-context.js';
import type { DataLoss, RepairAction, RepairOption } from './types.js';

type Why = { action: RepairAction; why: string };

function alive(ctx: PlanContext, id: string): boolean {
  const node = ctx.byId.get(id);
  return node !== undefined && node.reachable && !ctx.failed(node);
}

/** What to do with one stuck slot; no actions when nothing safe can be done. */
function closeSlot(
  ctx: PlanContext,
  slot: number,
  entries: readonly OpenSlot[],
): { actions: Why[]; loss?: string } {
  const masters = entries.filter((e) => e.nodeRole !== 'replica' && alive(ctx, e.node));
  const migrating = masters.find((e) => e.state === 'migrating');
  const importing = masters.find((e) => e.state === 'importing');
  if (migrating && (importing?.node === migrating.peer || !importing)) {
    const target = migrating.peer;
    const targetKeys = importing?.nodeKeys ?? migrating.peerKeys ?? 0;
    if (alive(ctx, target) && (importing || targetKeys > 0)) {
      return {
        actions: [
          {
            action: { type: 'finish-migration', slot, source: migrating.node, target },
            why: `both ends are alive: move the remaining ${plural(migrating.nodeKeys ?? 0, 'key')} and hand the slot over`,
          },
        ],
      };
    }
    return {
      actions: [
        {
          action: { type: 'stable', slot, node: migrating.node },
          why: 'the migration never reached a live target: the source keeps the slot',
        },
      ],
      ...(alive(ctx, target)
        ? {}
        : { loss: `keys of slot ${slot} already moved to dead ${ctx.label(target)}` }),
    };
  }
  if (importing) {
    const owner = ctx.owner(slot);
    if (owner === importing.node) {
      return {
        actions: [{ action: { type: 'stable', slot, node: owner }, why: 'it already owns the slot' }],
      };
    }
    if (owner && alive(ctx, owner)) {
      return {
        actions: [
          {
            action: { type: 'stable', slot, node: importing.node },
            why: "an importing node ignores the slot's real owner (and may stay CLUSTERDOWN) until the import is closed",
          },
          {
            action: { type: 'adopt-keys', slot, holder: importing.node, owner },
            why: `the migration source is gone or never started; the ${plural(importing.nodeKeys ?? 0, 'key')} imported so far go to the slot's live owner`,
          },
        ],
      };
    }
    return {
      actions: [
        {
          action: { type: 'claim-slot', slot, node: importing.node },
          why: `the owner is down; the live importing side holds ${plural(importing.nodeKeys ?? 0, 'key')} of the slot`,
        },
      ],
      loss: `keys of slot ${slot} still on dead ${ctx.label(importing.peer)}`,
    };
  }
  return { actions: [] };
}

/** Stuck migrating/importing slots: finish the move when both ends live, else settle on the live side. */
export function planCloseOpenSlots(ctx: PlanContext): RepairOption[] {
  const stuck = ctx.report.openSlots.filter((o) => !o.live);
  if (stuck.length === 0 || ctx.report.openSlots.some((o) => o.live)) return [];
  const bySlot = groupBy(stuck, (o) => o.slot);
  const actions: Why[] = [];
  const losses: string[] = [];
  for (const [slot, entries] of bySlot) {
    const { actions: slotActions, loss } = closeSlot(ctx, slot, entries);
    actions.push(...slotActions);
    if (loss) losses.push(loss);
  }
  const onReplicas = stuck.filter((o) => o.nodeRole === 'replica');
  if (actions.length === 0) return [];
  const slots = rangesFromSlots(bySlot.keys());
  const loss: DataLoss | null =
    losses.length === 0
      ? null
      : { slots: rangesFromSlots(bySlot.keys()), keys: null, description: losses.join('; ') };
  return [
    buildOption(ctx, {
      id: 'close-open-slots',
      kind: 'close-open-slots',
      title: `Close ${plural(bySlot.size, 'stuck slot')} (${rangesText(slots)})`,
      explanation: `A resharding stopped half way: keys of these slots are split between two nodes and clients get ASK redirects. Where both ends are alive the migration is finished (remaining keys moved with MIGRATE, then SETSLOT NODE on the target, the source and every other master); where one end is dead the slot settles on the live side. SETSLOT STABLE on the target, as old runbooks say, would strand its keys.${onReplicas.length > 0 ? ` Stale migration state on ${plural(onReplicas.length, 'replica')} clears when the master's state does.` : ''}${loss ? ` Data loss: ${loss.description}.` : ' No key is deleted.'}`,
      risk: loss ? 'data-loss' : 'safe',
      loss,
      actions,
      expected: 'no open slot; every key readable through its owner',
    }),
  ];
}

/** Keys on a master that does not own their slot: hand them to the owner. */
export function planAdoptOrphans(ctx: PlanContext): RepairOption[] {
  const actions: Why[] = [];
  let keys = 0;
  for (const finding of ctx.report.findings.filter((f) => f.code === 'KEYS_ORPHANED')) {
    const holder = finding.nodes[0];
    if (!holder || !alive(ctx, holder)) continue;
    for (const slot of slotsIn(finding.slots)) {
      const owner = ctx.owner(slot);
      const count = ctx.holders(slot).find((h) => h.node === holder)?.keys ?? 0;
      if (!owner || !alive(ctx, owner) || count === 0) continue;
      keys += count;
      actions.push({
        action: { type: 'adopt-keys', slot, holder, owner },
        why: `${plural(count, 'key')} of slot ${slot} sit on ${ctx.label(holder)}, which does not own it`,
      });
    }
  }
  if (actions.length === 0) return [];
  return [
    buildOption(ctx, {
      id: 'adopt-orphans',
      kind: 'adopt-orphans',
      title: `Hand ${plural(keys, 'orphaned key')} to their slot owners`,
      explanation:
        'These keys live on a master that does not own their slot, so clients are redirected to the owner and read nil. Each holder briefly imports the slot from its owner (so it may serve MIGRATE), sends the keys to the owner with MIGRATE, then closes the slot again. Nothing is deleted; a key that already exists on the owner with a different value stops the step and is named.',
      risk: 'safe',
      actions,
      expected: 'no orphaned keys; every key readable through its owner',
    }),
  ];
}
