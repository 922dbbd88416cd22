import { plural } from '../finding.js';
import type { OpenSlot } from '../report.js';
import { rangesFromSlots, slotsIn } from '../slot-ranges.js';
import { buildOption } from './option.js';
import { type PlanContext, rangesText } from './plan-context.js';
import type { DataLoss, RepairOption, SlotSettlement } from './types.js';

/** What to do with one slot: settle it on an owner (maybe losing keys), or why nothing can be done. */
type Decision = { readonly settle: SlotSettlement; readonly loss?: string } | { readonly cannot: string };

function alive(ctx: PlanContext, id: string): boolean {
  const node = ctx.byId.get(id);
  return node !== undefined && node.reachable && !ctx.failed(node) && node.role === 'master';
}

/** The candidate with the most keys of the slot; a tie goes to the higher config epoch. */
function mostKeys(ctx: PlanContext, slot: number, candidates: readonly string[]): string | undefined {
  const keysOf = (id: string) => ctx.holders(slot).find((h) => h.node === id)?.keys ?? 0;
  const epochOf = (id: string) => ctx.byId.get(id)?.configEpoch ?? 0;
  return [...candidates].sort((a, b) => keysOf(b) - keysOf(a) || epochOf(b) - epochOf(a))[0];
}

/**
 * Picks the one owner a slot settles on, from each master's own view (redis-cli's fixer, extended): a
 * migration with both ends alive is finished; a migration to nowhere goes back to its source; otherwise the
 * node that claims the slot, else the live node that holds or imports its keys.
 */
function decide(ctx: PlanContext, slot: number, entries: readonly OpenSlot[]): Decision {
  const keysOf = (id: string) => ctx.holders(slot).find((h) => h.node === id)?.keys ?? 0;
  const open = entries.filter((e) => alive(ctx, e.node));
  const migrating = open.filter((e) => e.state === 'migrating');
  const importing = open.filter((e) => e.state === 'importing').map((e) => e.node);
  const claims = ctx.claims(slot).filter((id) => alive(ctx, id));
  const settle = (owner: string, why: string, loss?: string): Decision => {
    if (!ctx.healthyMasters().some((n) => n.id === owner))
      return { cannot: `its owner-to-be ${ctx.label(owner)} is not a healthy master` };
    return { settle: { slot, owner, why }, ...(loss ? { loss } : {}) };
  };

  const [only] = migrating;
  if (only && migrating.length === 1) {
    const source = only.node;
    const target = only.peer;
    if (alive(ctx, target) && (importing.includes(target) || keysOf(target) > 0 || claims.includes(target)))
      return settle(target, 'both ends are alive: the migration is finished on the target');
    if (alive(ctx, target))
      return settle(source, 'the target never started importing: the source keeps the slot');
    return settle(
      source,
      'the target is down: the source keeps the slot',
      `keys of slot ${slot} already moved to ${ctx.label(target)}, which is down (restart it first to keep them)`,
    );
  }
  if (claims.length === 1 && claims[0])
    return settle(claims[0], 'it is the only node that owns the slot in its own view');
  if (claims.length > 1) {
    const owner = mostKeys(ctx, slot, claims) as string;
    return settle(owner, `${plural(claims.length, 'node')} claim the slot; it holds the most keys`);
  }
  const consensus = ctx.owner(slot);
  const pool = [...new Set([...importing, ...ctx.holders(slot).map((h) => h.node)])].filter((id) =>
    alive(ctx, id),
  );
  if (consensus && !alive(ctx, consensus) && ctx.liveReplicas(consensus).length > 0)
    return {
      cannot: `its owner ${ctx.label(consensus)} is down and has a replica: fail over first, then plan again`,
    };
  const heir = mostKeys(ctx, slot, pool);
  if (heir) {
    const lost =
      consensus && !alive(ctx, consensus)
        ? `keys of slot ${slot} still on ${ctx.label(consensus)}, which is down`
        : undefined;
    return settle(heir, 'nobody owns the slot in its own view; it imports or holds its keys', lost);
  }
  if (consensus && alive(ctx, consensus)) return settle(consensus, 'the cluster names it as owner');
  return { cannot: 'no live master owns, imports or holds it' };
}

interface SlotPlan {
  readonly safe: SlotSettlement[];
  readonly lossy: { settle: SlotSettlement; loss: string }[];
  readonly cannot: { slot: number; why: string }[];
}

/** Decisions for the stuck slots: open (not moving) on a master, or unroutable. Orphans are separate. */
export function planStuckSlots(ctx: PlanContext): SlotPlan {
  const moving = new Set(slotsIn(ctx.report.movingSlots));
  const bySlot = new Map<number, OpenSlot[]>();
  for (const entry of ctx.report.openSlots) {
    if (entry.live || moving.has(entry.slot)) continue;
    bySlot.set(entry.slot, [...(bySlot.get(entry.slot) ?? []), entry]);
  }
  for (const f of ctx.report.findings.filter((f) => f.code === 'SLOTS_UNROUTABLE'))
    for (const slot of slotsIn(f.slots)) if (!bySlot.has(slot)) bySlot.set(slot, []);
  const plan: SlotPlan = { safe: [], lossy: [], cannot: [] };
  for (const [slot, entries] of [...bySlot].sort(([a], [b]) => a - b)) {
    if (entries.length > 0 && entries.every((e) => e.nodeRole === 'replica')) {
      plan.cannot.push({
        slot,
        why: 'only replicas show it open (stale state they clear when their master does)',
      });
      continue;
    }
    const decision = decide(ctx, slot, entries);
    if ('cannot' in decision) plan.cannot.push({ slot, why: decision.cannot });
    else if (decision.loss) plan.lossy.push({ settle: decision.settle, loss: decision.loss });
    else plan.safe.push(decision.settle);
  }
  return plan;
}

const owners = (ctx: PlanContext, slots: readonly SlotSettlement[]): string =>
  [...new Set(slots.map((s) => ctx.label(s.owner)))].join(', ');

/** Stuck migrating/importing and unroutable slots: each settles on one owner, independently of the others. */
export function planCloseOpenSlots(ctx: PlanContext): RepairOption[] {
  const { safe, lossy, cannot } = planStuckSlots(ctx);
  const cannotText =
    cannot.length > 0
      ? ` Not included (${plural(cannot.length, 'slot')} need a person): ${cannot
          .slice(0, 5)
          .map((c) => `slot ${c.slot}: ${c.why}`)
          .join('; ')}${cannot.length > 5 ? '; …' : ''}.`
      : '';
  const options: RepairOption[] = [];
  if (safe.length > 0) {
    const ranges = rangesFromSlots(safe.map((s) => s.slot));
    options.push(
      buildOption(ctx, {
        id: 'close-open-slots',
        kind: 'close-open-slots',
        title: `Settle ${plural(safe.length, 'stuck slot')} (${rangesText(ranges)})`,
        explanation: `A resharding stopped half way: these slots are open, or their nodes send clients in circles or away from the keys. Each slot settles on one owner (${owners(ctx, safe)}): where both ends of a migration are alive it is finished on the target; keys on any other node are moved to the owner with MIGRATE (never deleted); then the owner takes the slot and every other master is told with SETSLOT NODE (SETSLOT STABLE only on nodes that no longer hold keys of it). Slots are independent: one that fails does not stop the others, and each slot's result is listed. Every key of every touched slot is read back through the cluster before the repair counts as done.${cannotText}`,
        risk: 'safe',
        actions: [
          {
            action: { type: 'settle-slots', slots: safe },
            why: safe.length === 1 ? (safe[0]?.why ?? '') : 'each slot on the owner its own state points to',
          },
        ],
        expected: 'no open slot; every key of these slots readable through its owner',
      }),
    );
  }
  if (lossy.length > 0) {
    const ranges = rangesFromSlots(lossy.map((l) => l.settle.slot));
    const loss: DataLoss = {
      slots: ranges,
      keys: null,
      description: lossy.map((l) => l.loss).join('; '),
    };
    options.push(
      buildOption(ctx, {
        id: 'close-open-slots-on-live-side',
        kind: 'close-open-slots',
        title: `Settle ${plural(lossy.length, 'slot')} whose other end is down on the live side (data loss)`,
        explanation: `Restart the node that is down first if it can come back: that loses nothing, and the slots can then be settled safely. If it cannot, these slots settle on the live side that holds their keys (${owners(
          ctx,
          lossy.map((l) => l.settle),
        )}); keys that only the dead node held are lost.`,
        risk: 'data-loss',
        loss,
        actions: [
          {
            action: { type: 'settle-slots', slots: lossy.map((l) => l.settle) },
            why: 'the live side keeps the slot',
          },
        ],
        expected: 'no open slot; the slots served by their live side',
      }),
    );
  }
  return options;
}

/** Keys on a master that does not own their slot, where every node agrees on the owner: hand them over. */
export function planAdoptOrphans(ctx: PlanContext): RepairOption[] {
  const settlements: SlotSettlement[] = [];
  let keys = 0;
  for (const finding of ctx.report.findings.filter((f) => f.code === 'KEYS_ORPHANED')) {
    const holder = finding.nodes[0];
    if (!holder || !alive(ctx, holder)) continue;
    for (const slot of slotsIn(finding.slots)) {
      const owner = ctx.owner(slot);
      const count = ctx.holders(slot).find((h) => h.node === holder)?.keys ?? 0;
      if (!owner || !alive(ctx, owner) || count === 0 || settlements.some((s) => s.slot === slot)) continue;
      keys += count;
      settlements.push({
        slot,
        owner,
        why: `${plural(count, 'key')} sit on ${ctx.label(holder)}, which does not own the slot`,
      });
    }
  }
  if (settlements.length === 0) return [];
  return [
    buildOption(ctx, {
      id: 'adopt-orphans',
      kind: 'adopt-orphans',
      title: `Hand ${plural(keys, 'orphaned key')} to their slot owners`,
      explanation:
        'These keys live on a master that does not own their slot, so clients are redirected to the owner and read nil. Each holder briefly imports the slot from its owner (so it may serve MIGRATE), sends the keys to the owner with MIGRATE, then closes the slot again. Nothing is deleted; a key that already exists on the owner with a different value stops that slot and is named.',
      risk: 'safe',
      actions: [
        {
          action: { type: 'settle-slots', slots: settlements },
          why: 'keys go to the owner every node agrees on',
        },
      ],
      expected: 'no orphaned keys; every key readable through its owner',
    }),
  ];
}
