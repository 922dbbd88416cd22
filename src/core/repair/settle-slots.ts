import { plural } from '../finding.js';
import { mapBounded } from '../pool.js';
import { formatRanges, rangesFromSlots } from '../slot-ranges.js';
import type { ExecContext } from './exec-context.js';
import { collectKeys, countKeys, type KeyCounts, MAX_READ_BACK_KEYS, readBack } from './read-back.js';
import type { Snapshot } from './snapshot.js';
import { epochIsHighest, moveKeys, onNode, type Runner, StepRefused } from './step-tools.js';
import type { RepairAction, SlotResult, SlotSettlement } from './types.js';

type Settle = Extract<RepairAction, { type: 'settle-slots' }>;

/** Slots worked on at once: each needs a few round trips to a few nodes, so many overlap well. */
const PARALLEL_SLOTS = 64;

const short = (id: string) => id.slice(0, 8);

/** Why the slot is not settled yet, or null when every node agrees on the owner, nothing is open, no stray key. */
function unsettledReason(s: Snapshot, counts: KeyCounts, { slot, owner }: SlotSettlement): string | null {
  const masters = s.masters();
  const open = masters.filter((id) => s.hasOpenState(id, slot));
  if (open.length > 0) return `still open on ${open.map(short).join(', ')}`;
  const stray = masters.filter((id) => id !== owner && (counts.get(id)?.get(slot) ?? 0) > 0);
  if (stray.length > 0) return `keys still on ${stray.map(short).join(', ')}`;
  if (!s.everyoneSeesOwner(owner, [[slot, slot]]))
    return `not every node sees ${short(owner)} as its owner yet`;
  return null;
}

function ownsOnlyThis(s: Snapshot, id: string, slot: number): boolean {
  const ranges = s.self(id)?.slots ?? [];
  return ranges.length === 1 && ranges[0]?.[0] === slot && ranges[0]?.[1] === slot;
}

/** Some other master of the slot's story, for SETSLOT IMPORTING (it needs a known node id). */
function peerFor(s: Snapshot, slot: number, owner: string): string | undefined {
  const current = s.ownerIn(owner, slot);
  if (current && current !== owner) return current;
  return s.masters().find((id) => id !== owner);
}

/**
 * Brings one slot to its owner: the owner is made able to receive (it owns or imports), every other master's
 * keys go there with MIGRATE (the holder marked MIGRATING when it owns the slot, IMPORTING when it does not, so
 * clients keep reaching moved keys), then the owner takes the slot and every other master is told. Idempotent:
 * each command is sent only when that node's own view needs it.
 */
async function settleOne(
  s: Snapshot,
  ctx: ExecContext,
  counts: KeyCounts,
  target: SlotSettlement,
): Promise<number> {
  const { slot, owner } = target;
  const masters = s.masters();
  if (!masters.includes(owner)) throw new Error(`${short(owner)} does not answer as a master`);
  const run = (id: string, ...command: (string | number)[]) => onNode(ctx, s, id, ...command);
  const holders = masters.filter((id) => id !== owner && (counts.get(id)?.get(slot) ?? 0) > 0);
  const ownerOwns = s.ownerIn(owner, slot) === owner;
  let imported = s.importingFrom(owner, slot) !== null;
  const openImport = async (from: string | undefined) => {
    if (imported || ownerOwns || !from) return;
    await run(owner, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', from);
    imported = true;
  };

  const importers = new Set(masters.filter((id) => id !== owner && s.importingFrom(id, slot) !== null));
  let moved = 0;
  if (holders.length > 0) await openImport(holders[0]);
  for (const holder of holders) {
    const owns = s.ownerIn(holder, slot) === holder;
    if (owns && s.migratingTo(holder, slot) !== owner)
      await run(holder, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', owner);
    if (!owns && !importers.has(holder)) {
      await run(holder, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', owner);
      importers.add(holder);
    }
    // A holder that names a dead owner is CLUSTERDOWN and refuses MIGRATE: point it at the owner first
    // (it keeps importing, so its keys stay reachable with ASKING).
    if (!owns && s.ownerIn(holder, slot) !== owner)
      await run(holder, 'CLUSTER', 'SETSLOT', slot, 'NODE', owner);
    moved += await moveKeys(ctx, s, slot, holder, owner, !owns, { quiet: true });
  }

  // The owner takes the slot first; taking it out of an import bumps its epoch so every node accepts the claim.
  if (!ownerOwns) {
    await openImport(peerFor(s, slot, owner));
    await run(owner, 'CLUSTER', 'SETSLOT', slot, 'NODE', owner);
  } else if (s.hasOpenState(owner, slot)) {
    await run(owner, 'CLUSTER', 'SETSLOT', slot, 'STABLE');
  }
  await Promise.all(
    masters
      .filter((id) => id !== owner)
      .map(async (id) => {
        const commands: (string | number)[][] = [];
        // STABLE only here, after the node's keys of the slot are gone: on a node with keys it would strand them.
        if (importers.has(id)) commands.push(['CLUSTER', 'SETSLOT', slot, 'STABLE']);
        if (s.ownerIn(id, slot) === id && ownsOnlyThis(s, id, slot)) {
          // SETSLOT NODE would turn a master that gives up its last slot into a replica (and flush it):
          // DELSLOTS first, and only when it holds no key of the slot (DELSLOTS skips that check).
          const keys = Number(await run(id, 'CLUSTER', 'COUNTKEYSINSLOT', slot));
          if (keys > 0) throw new Error(`${short(id)} got ${plural(keys, 'new key')} of the slot meanwhile`);
          commands.push(['CLUSTER', 'DELSLOTS', slot]);
        }
        if (s.ownerIn(id, slot) !== owner || s.migratingTo(id, slot) !== null)
          commands.push(['CLUSTER', 'SETSLOT', slot, 'NODE', owner]);
        if (commands.length === 0) return;
        const replies = await (await ctx.client(s, id)).pipeline(commands);
        const failed = replies.find((r) => r instanceof Error);
        if (failed) throw new Error(`${short(id)}: ${(failed as Error).message}`);
      }),
  );
  return moved;
}

/** Where a client starts reading a slot: the owner the cluster names (its slot map), else the settlement's. */
function startAt(s: Snapshot, a: Settle): (slot: number) => string | null {
  const owners = new Map(a.slots.map((t) => [t.slot, t.owner]));
  return (slot) => s.topology.owners[slot] ?? owners.get(slot) ?? null;
}

/** `settled 998 slots: 0-997 (39900 keys moved); already stable 1 slot: 998; failed 1 slot: 999`. */
function summary(results: readonly SlotResult[]): string {
  const group = (result: SlotResult['result']) => results.filter((r) => r.result === result);
  const list = (rs: readonly SlotResult[]) =>
    `${plural(rs.length, 'slot')}: ${formatRanges(rangesFromSlots(rs.map((r) => r.slot)))}`;
  const settled = group('settled');
  const moved = settled.reduce((n, r) => n + r.moved, 0);
  return [
    settled.length > 0 ? `settled ${list(settled)} (${plural(moved, 'key')} moved)` : 'settled no slot',
    ...(group('stable').length > 0 ? [`already stable ${list(group('stable'))}`] : []),
    ...(group('failed').length > 0 ? [`failed ${list(group('failed'))}`] : []),
  ].join('; ');
}

/** Every failed slot with its reason in full; slots that failed for the very same reason share a line. */
function failureText(results: readonly SlotResult[]): string {
  const failed = results.filter((r) => r.result === 'failed');
  const byReason = new Map<string, number[]>();
  for (const r of failed) {
    const slots = byReason.get(r.reason ?? '');
    if (slots) slots.push(r.slot);
    else byReason.set(r.reason ?? '', [r.slot]);
  }
  const lines = [...byReason].map(([why, slots]) => {
    const ranges = rangesFromSlots(slots);
    return `${slots.length === 1 ? 'slot' : 'slots'} ${formatRanges(ranges)}: ${why}`;
  });
  return `${plural(failed.length, 'slot')} of ${results.length} not settled: ${lines.join('; ')} (${summary(results)})`;
}

const outcome = (
  t: SlotSettlement,
  failures: ReadonlyMap<number, string>,
  moved: ReadonlyMap<number, number>,
): SlotResult => {
  const reason = failures.get(t.slot);
  if (reason !== undefined)
    return { slot: t.slot, owner: t.owner, result: 'failed', reason, moved: moved.get(t.slot) ?? 0 };
  const keys = moved.get(t.slot);
  return {
    slot: t.slot,
    owner: t.owner,
    result: keys === undefined ? 'stable' : 'settled',
    reason: null,
    moved: keys ?? 0,
  };
};

export const settleSlots = (a: Settle): Runner => ({
  async done(s, ctx) {
    const slots = a.slots.map((t) => t.slot);
    const counts = await countKeys(s, ctx, slots);
    if (!a.slots.every((t) => unsettledReason(s, counts, t) === null)) return false;
    // Settled in every view is not enough: every key must read back through the cluster too.
    const { keys } = await collectKeys(s, ctx, counts, slots);
    if ((await readBack(s, ctx, keys, startAt(s, a))).size > 0) return false;
    ctx.slotResults.push(...a.slots.map((t) => outcome(t, new Map(), new Map())));
    return true;
  },
  async run(s, ctx) {
    const slots = a.slots.map((t) => t.slot);
    const counts = await countKeys(s, ctx, slots);
    // Listed before any key moves, on every node holding some: the read-back looks for each of these keys.
    const before = await collectKeys(s, ctx, counts, slots);
    const failures = new Map<number, string>();
    const moved = new Map<number, number>();
    let refused = false;
    await mapBounded(a.slots, PARALLEL_SLOTS, async (target) => {
      if (unsettledReason(s, counts, target) === null) return;
      try {
        moved.set(target.slot, await settleOne(s, ctx, counts, target));
      } catch (error) {
        refused ||= error instanceof StepRefused;
        const message = error instanceof Error ? error.message : String(error);
        failures.set(target.slot, message.replace(`slot ${target.slot}: `, ''));
      }
    });
    const attempted = a.slots.filter((t) => !failures.has(t.slot));
    // An owner whose claim did not come with a fresh epoch may lose to a stale, higher-epoch claim in gossip.
    for (const owner of new Set(attempted.map((t) => t.owner))) {
      if (!epochIsHighest(s, owner)) await onNode(ctx, s, owner, 'CLUSTER', 'BUMPEPOCH');
    }
    let last = s;
    try {
      last = await ctx.until(
        `every node agrees on the owner of ${plural(attempted.length, 'settled slot')}`,
        async (n) => {
          last = n;
          const now = await countKeys(
            n,
            ctx,
            attempted.map((t) => t.slot),
          );
          return attempted.every((t) => unsettledReason(n, now, t) === null);
        },
      );
    } catch {
      const now = await countKeys(
        last,
        ctx,
        attempted.map((t) => t.slot),
      );
      for (const t of attempted) {
        const reason = unsettledReason(last, now, t);
        if (reason) failures.set(t.slot, reason);
      }
    }
    const settled = a.slots.filter((t) => !failures.has(t.slot));
    const keys = new Map(settled.map((t) => [t.slot, before.keys.get(t.slot) ?? []]));
    for (const [slot, problem] of await readBack(last, ctx, keys, startAt(last, a)))
      failures.set(slot, problem);
    const results = a.slots.map((t) => outcome(t, failures, moved));
    ctx.slotResults.push(...results);
    const read = [...keys.values()].reduce((n, k) => n + k.length, 0);
    ctx.note(
      `${summary(results)}; ${plural(read, 'key')} read back through the cluster as a client reads them${before.unread > 0 ? ` (${plural(before.unread, 'key')} past the bound of ${MAX_READ_BACK_KEYS} not read back)` : ''}`,
    );
    if (failures.size === 0) return;
    const text = failureText(results);
    throw refused ? new StepRefused(text) : new Error(text);
  },
});
