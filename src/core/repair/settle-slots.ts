import { plural } from '../finding.js';
import { mapBounded } from '../pool.js';
import type { ExecContext } from './exec-context.js';
import type { Snapshot } from './snapshot.js';
import { epochIsHighest, moveKeys, onNode, type Runner, StepRefused } from './step-tools.js';
import type { RepairAction, SlotSettlement } from './types.js';

type Settle = Extract<RepairAction, { type: 'settle-slots' }>;
type Counts = ReadonlyMap<string, ReadonlyMap<number, number>>;

/** Slots worked on at once: each needs a few round trips to a few nodes, so many overlap well. */
const PARALLEL_SLOTS = 64;
const COUNT_BATCH = 2000;
/** Notes per slot only for small repairs; big ones get one summary line. */
const NOTE_EACH_UP_TO = 10;

const short = (id: string) => id.slice(0, 8);

/** COUNTKEYSINSLOT of every slot on every reachable master, pipelined per node. */
async function countAll(s: Snapshot, ctx: ExecContext, slots: readonly number[]): Promise<Counts> {
  const counts = new Map<string, Map<number, number>>();
  await Promise.all(
    s.masters().map(async (id) => {
      const client = await ctx.client(s, id);
      const mine = new Map<number, number>();
      for (let i = 0; i < slots.length; i += COUNT_BATCH) {
        const batch = slots.slice(i, i + COUNT_BATCH);
        const replies = await client.pipeline(batch.map((slot) => ['CLUSTER', 'COUNTKEYSINSLOT', slot]));
        replies.forEach((reply, k) => {
          if (reply instanceof Error) throw reply;
          if (Number(reply) > 0) mine.set(batch[k] as number, Number(reply));
        });
      }
      counts.set(id, mine);
    }),
  );
  return counts;
}

/** Why the slot is not settled yet, or null when every node agrees on the owner, nothing is open, no stray key. */
function unsettledReason(s: Snapshot, counts: Counts, { slot, owner }: SlotSettlement): string | null {
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
  counts: Counts,
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

/**
 * Reads every key of the slots back the way a cluster client would: every other master answers MOVED to the
 * owner, and the owner serves each key. Pipelined per node, so the cost is a few round trips per node.
 */
async function unreadable(
  s: Snapshot,
  ctx: ExecContext,
  settled: readonly SlotSettlement[],
): Promise<Map<number, string>> {
  const problems = new Map<number, string>();
  const address = (id: string) => s.topology.nodes.get(id)?.address ?? '';
  const byOwner = new Map<string, number[]>();
  for (const { slot, owner } of settled) byOwner.set(owner, [...(byOwner.get(owner) ?? []), slot]);
  const sample = new Map<number, Buffer>();
  await Promise.all(
    [...byOwner].map(async ([owner, slots]) => {
      const client = await ctx.client(s, owner);
      const pages = await client.pipeline(
        slots.map((slot) => ['CLUSTER', 'GETKEYSINSLOT', slot, 100_000]),
        { buffers: true },
      );
      const keys = pages.flatMap((page, i) => {
        const list = (Array.isArray(page) ? page : []) as Buffer[];
        if (list[0] !== undefined) sample.set(slots[i] as number, list[0]);
        return list.map((key) => ({ slot: slots[i] as number, key }));
      });
      for (let i = 0; i < keys.length; i += COUNT_BATCH) {
        const batch = keys.slice(i, i + COUNT_BATCH);
        const served = await client.pipeline(batch.map(({ key }) => ['EXISTS', key]));
        served.forEach((reply, k) => {
          const slot = batch[k]?.slot as number;
          if (reply instanceof Error || Number(reply) !== 1)
            problems.set(
              slot,
              `a key is not served by ${short(owner)} (${reply instanceof Error ? reply.message : 'missing'})`,
            );
        });
      }
    }),
  );
  const owners = new Map(settled.map((t) => [t.slot, t.owner]));
  const probes = [...sample];
  await Promise.all(
    s.masters().map(async (id) => {
      const asked = probes.filter(([slot]) => owners.get(slot) !== id);
      if (asked.length === 0) return;
      const replies = await (await ctx.client(s, id)).pipeline(asked.map(([, key]) => ['EXISTS', key]));
      replies.forEach((reply, k) => {
        const slot = asked[k]?.[0] as number;
        const owner = owners.get(slot) as string;
        const text = reply instanceof Error ? reply.message : `answered ${String(reply)}`;
        if (!text.startsWith(`MOVED ${slot} ${address(owner)}`))
          problems.set(slot, `${short(id)} does not send clients to ${short(owner)} (${text})`);
      });
    }),
  );
  return problems;
}

export const settleSlots = (a: Settle): Runner => ({
  async done(s, ctx) {
    const counts = await countAll(
      s,
      ctx,
      a.slots.map((t) => t.slot),
    );
    return a.slots.every((t) => unsettledReason(s, counts, t) === null);
  },
  async run(s, ctx) {
    const counts = await countAll(
      s,
      ctx,
      a.slots.map((t) => t.slot),
    );
    const failures = new Map<number, string>();
    let refused = false;
    let moved = 0;
    await mapBounded(a.slots, PARALLEL_SLOTS, async (target) => {
      if (unsettledReason(s, counts, target) === null) return;
      try {
        const keys = await settleOne(s, ctx, counts, target);
        moved += keys;
        if (a.slots.length <= NOTE_EACH_UP_TO)
          ctx.note(
            `slot ${target.slot}: ${keys > 0 ? `moved ${plural(keys, 'key')} to` : 'settled on'} ${short(target.owner)}`,
          );
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
          const now = await countAll(
            n,
            ctx,
            attempted.map((t) => t.slot),
          );
          return attempted.every((t) => unsettledReason(n, now, t) === null);
        },
      );
    } catch {
      const now = await countAll(
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
    for (const [slot, problem] of await unreadable(last, ctx, settled)) failures.set(slot, problem);
    ctx.note(
      `${plural(a.slots.length - failures.size, 'slot')} of ${a.slots.length} settled and every key of them read back through its owner; ${plural(moved, 'key')} moved`,
    );
    if (failures.size === 0) return;
    const list = [...failures].sort(([x], [y]) => x - y);
    const text = `${plural(list.length, 'slot')} of ${a.slots.length} not settled (the others are): ${list
      .slice(0, 20)
      .map(([slot, why]) => `slot ${slot}: ${why}`)
      .join('; ')}${list.length > 20 ? '; …' : ''}`;
    throw refused ? new StepRefused(text) : new Error(text);
  },
});
